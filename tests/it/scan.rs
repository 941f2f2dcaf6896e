//! Scans read only the files of the partitions that filters select.

use datafusion::physical_plan::{ExecutionPlan, collect};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion_timemachine::TimeMachine;

use crate::run;

fn files_scanned(plan: &dyn ExecutionPlan) -> usize {
    let mut n = 0;
    if let Some(exec) = plan.downcast_ref::<DataSourceExec>()
        && let Some(config) = exec.data_source().downcast_ref::<FileScanConfig>() {
            n += config.file_groups.iter().map(|g| g.len()).sum::<usize>();
        }
    n + plan.children().iter().map(|c| files_scanned(c.as_ref())).sum::<usize>()
}

#[tokio::test]
async fn partition_filters_prune_files() {
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(&tm, &["CREATE TABLE p (v BIGINT) PARTITIONED BY (ds STRING)"]).await;
    for ds in 1..=6 {
        tm.execute(&format!("INSERT INTO p PARTITION (ds='2020010{ds}') VALUES ({ds}), ({})", ds * 10))
            .await
            .unwrap();
    }
    let count = |sql: &'static str| {
        let tm = tm.clone();
        async move {
            let df = tm.sql(sql).await.unwrap();
            let plan = df.create_physical_plan().await.unwrap();
            let n = files_scanned(plan.as_ref());
            let rows: usize = collect(plan, tm.context().task_ctx()).await.unwrap().iter().map(|b| b.num_rows()).sum();
            (n, rows)
        }
    };
    assert_eq!(count("SELECT * FROM p").await, (6, 12));
    assert_eq!(count("SELECT * FROM p WHERE ds = '20200103'").await, (1, 2));
    assert_eq!(count("SELECT * FROM p WHERE ds >= '20200105'").await, (2, 4));
    assert_eq!(count("SELECT * FROM p WHERE ds = 'none'").await, (0, 0));
    // A filter on a data column prunes nothing but still filters rows.
    assert_eq!(count("SELECT * FROM p WHERE v > 20").await, (6, 4));
    // At an old version (LSN 4: three partitions), partition filters prune the same way, and an
    // incremental range holds only the files its commits wrote.
    assert_eq!(count("SELECT * FROM p VERSION AS OF 4").await, (3, 6));
    assert_eq!(count("SELECT * FROM p VERSION AS OF 4 WHERE ds = '20200102'").await, (1, 2));
    assert_eq!(count("SELECT * FROM p VERSION AS OF 4 WHERE ds = '20200105'").await, (0, 0));
    assert_eq!(count("SELECT * FROM p VERSION BETWEEN 4 AND 6 WHERE ds >= '20200104'").await, (2, 4));
}
