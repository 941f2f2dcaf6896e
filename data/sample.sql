-- A tour of the time machine: `cargo run --release --bin timemachine -- --echo -f data/sample.sql`
-- (--echo prints each statement, with the comment before it, above its result).
-- Safe to run again: it starts by dropping the table of the previous run (asked on a terminal;
-- add --yes to skip the question). The dropped table stays restorable (SHOW HISTORY FOR TABLES).
DROP TABLE IF EXISTS tour_sales;
CREATE TABLE tour_sales (item STRING, amount BIGINT) PARTITIONED BY (ds STRING);
INSERT INTO tour_sales PARTITION (ds="20240101") VALUES ("apple", 3), ("pear", 5);
INSERT INTO tour_sales PARTITION (ds="20240102") VALUES ("apple", 7);
-- A bad overwrite that loses a day's rows:
INSERT OVERWRITE TABLE tour_sales PARTITION (ds="20240101") VALUES ("plum", 1);
-- Every version is kept: LSN 1 = CREATE, 2 and 3 = APPEND, 4 = OVERWRITE.
SHOW HISTORY FOR TABLE tour_sales;
-- Read the past without restoring it.
SELECT ds, item, amount FROM tour_sales VERSION AS OF 3 ORDER BY ds, item;
-- What was written after LSN 2 (an incremental query: LSNs 3 and 4).
SELECT ds, item, amount FROM tour_sales VERSION BETWEEN 2 AND 4 ORDER BY ds, item;
-- Undo the overwrite: that partition back to LSN 3, no data copied; the restore is LSN 5.
RESTORE TABLE tour_sales PARTITION (ds="20240101") TO LSN '0000000000000003';
SELECT ds, sum(amount) AS total FROM tour_sales GROUP BY ds ORDER BY ds;
