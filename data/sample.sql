-- A small sample session: `cargo run --release --bin timemachine -- -f data/sample.sql`
CREATE TABLE IF NOT EXISTS sample_sales (item STRING, amount BIGINT) PARTITIONED BY (ds STRING);
INSERT OVERWRITE TABLE sample_sales PARTITION (ds="20200101") VALUES ("apple", 3), ("pear", 5);
INSERT OVERWRITE TABLE sample_sales PARTITION (ds="20200102") VALUES ("apple", 7);
LIST PARTITIONS sample_sales;
SELECT ds, sum(amount) AS total FROM sample_sales GROUP BY ds ORDER BY ds;
