//! TPC-H's refresh on SF1 lineitem (`--only tpch_refresh --tpch-data DIR`, the files of
//! benches/tpch/tpch.py): row-level changes of 1% of the rows, spread over every file, with
//! deletion vectors (merge-on-read) against copy-on-write on the same files (a CLONE), in time
//! and bytes; RF2's delete by a key list; and TPC-H Q1 and Q6 after the deletes against before.

use std::path::Path;
use std::time::Instant;

use datafusion_timemachine::TimeMachine;

use crate::deletion_vectors::{compare_modes, ratio, timed};
use crate::tpch::replace_word;
use crate::{exec, median, ms, row, scratch};

const COLUMNS: &str = "l_orderkey, l_partkey, l_suppkey, l_linenumber, l_quantity, l_extendedprice, l_discount, \
                       l_tax, l_returnflag, l_linestatus, l_shipdate, l_commitdate, l_receiptdate, l_shipinstruct, \
                       l_shipmode, l_comment";

pub(crate) async fn bench_tpch_refresh(data: &Path, runs: usize) {
    let dir = scratch("tpch_refresh");
    let tm = TimeMachine::open(dir.to_str().unwrap()).await.unwrap();
    for t in ["lineitem", "orders"] {
        let file = data.join(format!("{t}.parquet"));
        exec(&tm, &format!("CREATE TABLE {t} AS SELECT * FROM '{}'", file.display())).await;
    }
    exec(&tm, "CLONE TABLE lineitem TO lineitem_cow").await;
    exec(&tm, "ALTER TABLE lineitem_cow SET TBLPROPERTIES ('timemachine.delete.mode'='copy-on-write')").await;
    exec(&tm, "ALTER TABLE lineitem SET TBLPROPERTIES ('timemachine.delete.mode'='merge-on-read')").await;
    let lsn = |t: &str| tm.project().state().live_table(t).unwrap().current.lsn;
    let (mor, cow) = (("lineitem", lsn("lineitem")), ("lineitem_cow", lsn("lineitem_cow")));
    let values: Vec<String> = COLUMNS.split(", ").map(|c| format!("s.{c}")).collect();
    // New orders' lines: keys above SF1's (at most 6,000,000).
    let new_rows = COLUMNS.replacen("l_orderkey", "l_orderkey + 100000000", 1);
    let source = format!(
        "SELECT {COLUMNS}, 'u' AS op FROM {{t}} WHERE l_orderkey % 83 = 7 \
         UNION ALL SELECT {new_rows}, 'i' FROM {{t}} WHERE l_orderkey % 97 = 3"
    );
    let merge = format!(
        "MERGE INTO {{t}} t USING ({source}) s ON t.l_orderkey = s.l_orderkey AND t.l_linenumber = s.l_linenumber \
         WHEN MATCHED AND s.op = 'u' THEN UPDATE SET l_tax = s.l_tax + 0.01 \
         WHEN NOT MATCHED THEN INSERT VALUES ({})",
        values.join(", ")
    );
    let statements = [
        ("DELETE 1% spread over every file", "DELETE FROM {t} WHERE l_orderkey % 97 = 3".to_string()),
        ("UPDATE 1% spread over every file", "UPDATE {t} SET l_tax = l_tax + 0.01 WHERE l_orderkey % 89 = 5".into()),
        ("MERGE 1% upd + 1% ins", merge),
        (
            "RF2: DELETE … IN (SELECT 0.1% of orders)",
            "DELETE FROM {t} WHERE l_orderkey IN (SELECT o_orderkey FROM orders WHERE o_orderkey % 1000 = 1)".into(),
        ),
    ];
    let cow_times = compare_modes(&tm, &dir, (mor, cow), &statements, "of TPC-H SF1 lineitem", runs).await;
    // The MERGE's source alone as a query, read the way the MERGE reads it (filters inside the
    // Parquet reader), against the copy-on-write MERGE: a floor under the merge-on-read MERGE's
    // ratio above, whatever the MERGE itself does (its source reads lineitem twice).
    let every = COLUMNS.split(", ").map(|c| format!("max({c})")).collect::<Vec<_>>().join(", ");
    let alone = format!("SELECT count(*), {every} FROM ({}) s", source.replace("{t}", "lineitem"));
    exec(&tm, "SET datafusion.execution.parquet.pushdown_filters = true").await;
    let mut times = vec![];
    for _ in 0..runs {
        times.push(timed(&tm, &alone).await);
    }
    exec(&tm, "SET datafusion.execution.parquet.pushdown_filters = false").await;
    let t_alone = median(times);
    row(
        "MERGE 1% upd + 1% ins: its source alone as a query vs the copy-on-write MERGE",
        ms(t_alone),
        ms(cow_times[2]),
        ratio(t_alone.as_secs_f64(), cow_times[2].as_secs_f64()),
        "floor of the row above",
    );
    // TPC-H Q1 and Q6 after 1% of the rows went through vectors, against the version before.
    exec(&tm, &format!("RESTORE TABLE lineitem TO LSN '{}'", mor.1)).await;
    exec(&tm, "DELETE FROM lineitem WHERE l_orderkey % 97 = 3").await;
    for q in [1, 6] {
        let path = crate::source_dir().join(format!("benches/tpch/queries/q{q}.sql"));
        let after = std::fs::read_to_string(&path).unwrap();
        let before = replace_word(&after, "lineitem", &format!("lineitem VERSION AS OF {}", mor.1));
        let (mut t_after, mut t_before) = (vec![], vec![]);
        for _ in 0..runs {
            let start = Instant::now();
            exec(&tm, &after).await;
            t_after.push(start.elapsed());
            let start = Instant::now();
            exec(&tm, &before).await;
            t_before.push(start.elapsed());
        }
        let (a, b) = (median(t_after), median(t_before));
        row(
            &format!("TPC-H q{q} after that DELETE vs before it"),
            ms(a),
            ms(b),
            ratio(a.as_secs_f64(), b.as_secs_f64()),
            "<= 1.1",
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
