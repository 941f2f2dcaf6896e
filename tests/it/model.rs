//! Property tests against an in-memory model: random statements under random storage faults,
//! and random restores, clock moves and purges with every retained version read back.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Duration as Span;
use datafusion_timemachine::purge_project;
use datafusion_timemachine::state::expiry::{cutoff, restorable};
use datafusion_timemachine::table::VersionedTable;
use datafusion_timemachine::{Clock, ManualClock, TimeMachine, Warehouse};
use object_store::ObjectStore;
use object_store::memory::InMemory;

use crate::rows;
use crate::store::{Instrumented, next_random};

/// A table of the model: partition → values (plain tables use the partition "").
#[derive(Debug, Clone, PartialEq, Default)]
struct ModelTable {
    partitioned: bool,
    partitions: BTreeMap<String, Vec<i64>>,
}

struct Gen(AtomicU64);

impl Gen {
    fn below(&self, n: u64) -> u64 {
        next_random(&self.0) % n
    }
}

/// One random statement, and what it does to the model if it succeeds (None: it must fail).
fn random_statement(
    g: &Gen,
    model: &BTreeMap<String, ModelTable>,
    value: i64,
) -> (String, Option<BTreeMap<String, ModelTable>>) {
    let name = format!("t{}", g.below(4));
    let ds = ["a", "b", "c"][g.below(3) as usize];
    let mut next = model.clone();
    let exists = model.get(&name).cloned();
    let sql = match (g.below(8), exists) {
        (0, _) | (_, None) => {
            let partitioned = g.below(2) == 0;
            let sql = format!(
                "CREATE TABLE {name} (v BIGINT){}",
                if partitioned { " PARTITIONED BY (ds STRING)" } else { "" }
            );
            if model.contains_key(&name) {
                return (sql, None);
            }
            next.insert(
                name.clone(),
                ModelTable {
                    partitioned,
                    partitions: if partitioned { BTreeMap::new() } else { BTreeMap::from([(String::new(), vec![])]) },
                },
            );
            sql
        }
        (1 | 2, Some(t)) => {
            let key = if t.partitioned { ds } else { "" };
            next.get_mut(&name).unwrap().partitions.entry(key.to_string()).or_default().push(value);
            format!(
                "INSERT INTO {name} {}VALUES ({value})",
                if t.partitioned { format!("PARTITION (ds='{ds}') ") } else { String::new() }
            )
        }
        (3, Some(t)) => {
            let key = if t.partitioned { ds } else { "" };
            next.get_mut(&name).unwrap().partitions.insert(key.to_string(), vec![value]);
            format!(
                "INSERT OVERWRITE TABLE {name} {}VALUES ({value})",
                if t.partitioned { format!("PARTITION (ds='{ds}') ") } else { String::new() }
            )
        }
        (4, Some(_)) => {
            next.remove(&name);
            format!("DROP TABLE {name}")
        }
        (5, Some(t)) => {
            let to = format!("t{}", g.below(4));
            let sql = format!("ALTER TABLE {name} RENAME TO {to}");
            if model.contains_key(&to) {
                return (sql, None);
            }
            next.remove(&name);
            next.insert(to, t);
            sql
        }
        (6, Some(t)) => {
            let sql = format!("ALTER TABLE {name} DROP PARTITION (ds='{ds}')");
            if !t.partitioned || !t.partitions.contains_key(ds) {
                return (sql, None);
            }
            next.get_mut(&name).unwrap().partitions.remove(ds);
            sql
        }
        (_, Some(_)) => {
            for values in next.get_mut(&name).unwrap().partitions.values_mut() {
                values.clear();
            }
            format!("TRUNCATE TABLE {name}")
        }
    };
    (sql, Some(next))
}

async fn assert_matches(tm: &TimeMachine, model: &BTreeMap<String, ModelTable>, step: usize) {
    let mut names = tm.project().state().live_names();
    names.sort();
    assert_eq!(names, model.keys().cloned().collect::<Vec<_>>(), "tables after step {step}");
    for (name, t) in model {
        let mut expected: Vec<String> = t
            .partitions
            .iter()
            .flat_map(|(k, vs)| vs.iter().map(move |v| if t.partitioned { format!("{v}|{k}") } else { v.to_string() }))
            .collect();
        expected.sort();
        assert_eq!(rows(tm, &format!("SELECT * FROM {name}")).await, expected, "{name} after step {step}");
        if t.partitioned {
            let listed = rows(tm, &format!("LIST PARTITIONS {name}")).await;
            let keys: Vec<String> = t.partitions.keys().map(|k| format!("ds={k}")).collect();
            assert_eq!(listed, keys, "partitions of {name} after step {step}");
        }
    }
}

/// Random statements with 10% of storage operations failing: every statement either succeeds
/// or fails cleanly, and the warehouse always equals the model of what succeeded.
pub async fn random_statements_under_faults(steps: usize, seed: u64) -> (usize, usize) {
    let inner: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let store = Arc::new(Instrumented::new(Arc::clone(&inner)));
    let wh = Warehouse::with_store(Arc::clone(&store) as _, "memory://");
    let tm = TimeMachine::builder().warehouse(wh).build().await.unwrap();
    store.faults.per_mille.store(100, Ordering::SeqCst);
    store.faults.seed.store(seed | 1, Ordering::SeqCst);
    let g = Gen(AtomicU64::new(seed.wrapping_mul(31) | 1));
    let mut model = BTreeMap::new();
    let (mut ok, mut failed) = (0, 0);
    for step in 0..steps {
        let (sql, next) = random_statement(&g, &model, step as i64);
        match tm.execute(&sql).await {
            Ok(_) => {
                let next = next.unwrap_or_else(|| panic!("step {step}: {sql} succeeded but must fail"));
                model = next;
                ok += 1;
            }
            Err(_) => failed += 1,
        }
        if step % 25 == 24 {
            // A fault-free process sees exactly the model.
            let reader = TimeMachine::builder()
                .warehouse(Warehouse::with_store(Arc::clone(&inner), "memory://"))
                .build()
                .await
                .unwrap();
            assert_matches(&reader, &model, step).await;
        }
    }
    (ok, failed)
}

#[tokio::test]
async fn random_statements_with_ten_percent_storage_faults_match_the_model() {
    let (ok, failed) = random_statements_under_faults(300, 7).await;
    assert!(ok > 100 && failed > 20, "ok {ok}, failed {failed}");
}

/// Reads `table_id` at `lsn` straight from its files.
async fn read_version(tm: &TimeMachine, table_id: &str, lsn: u64) -> Vec<String> {
    let snap = tm.project().state().tables[table_id].state_at(lsn).unwrap();
    let provider = VersionedTable::try_new(Arc::clone(tm.project()), Arc::new(snap)).unwrap();
    let batches = tm.context().read_table(Arc::new(provider)).unwrap().collect().await.unwrap();
    let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
    let mut out: Vec<String> = text.lines().filter(|l| l.starts_with("| ")).skip(1).map(|l| l.to_string()).collect();
    out.sort();
    out
}

/// Records what the current version of every live table holds.
async fn record(tm: &TimeMachine, held: &mut BTreeMap<(String, u64), Vec<String>>) {
    let current: Vec<(String, u64)> = tm
        .project()
        .state()
        .tables
        .values()
        .filter(|t| !t.current.dropped)
        .map(|t| (t.id.clone(), t.current.lsn))
        .collect();
    for (id, lsn) in current {
        if !held.contains_key(&(id.clone(), lsn)) {
            let content = read_version(tm, &id, lsn).await;
            held.insert((id, lsn), content);
        }
    }
}

/// Random writes, restores (in place and AS another table), drops and undrops, clock moves and
/// purges; after every step, every restorable version of every table reads back what it held.
pub async fn purge_safety(steps: usize, seed: u64) -> (usize, usize) {
    let clock = Arc::new(ManualClock::new("2020-02-18T00:00:00Z".parse().unwrap()));
    let tm = TimeMachine::builder().location("memory://").clock(Arc::clone(&clock) as _).build().await.unwrap();
    tm.project().set_grace(Duration::ZERO).await.unwrap();
    let g = Gen(AtomicU64::new(seed | 1));
    // What each (table id, LSN) held when it was committed.
    let mut held: BTreeMap<(String, u64), Vec<String>> = BTreeMap::new();
    let mut checks = 0;
    tm.execute("CREATE TABLE a (v BIGINT) PARTITIONED BY (ds STRING)").await.unwrap();
    tm.execute("CREATE TABLE b (v BIGINT)").await.unwrap();
    record(&tm, &mut held).await;
    for step in 0..steps {
        let table = ["a", "b"][g.below(2) as usize];
        let part =
            if table == "a" { format!("PARTITION (ds='{}') ", ["x", "y"][g.below(2) as usize]) } else { String::new() };
        let sql = match g.below(9) {
            0 | 1 => format!("INSERT INTO {table} {part}VALUES ({step})"),
            2 => format!("INSERT OVERWRITE TABLE {table} {part}VALUES ({step})"),
            3 => format!("RESTORE TABLE {table} TO LSN '{}'", 1 + g.below(step as u64 + 2)),
            4 => format!("RESTORE TABLE {table} TO LSN '{}' AS {table}_copy", 1 + g.below(step as u64 + 2)),
            5 => format!("SETPROJECT odps.timemachine.retention.days={}", g.below(3)),
            6 => {
                clock.advance(Span::hours(g.below(30) as i64));
                "PURGE".to_string()
            }
            7 => format!("DROP TABLE {table}_copy"),
            _ => "PURGE".to_string(),
        };
        if sql == "PURGE" {
            purge_project(tm.project(), usize::MAX).await.unwrap();
        } else {
            let _ = tm.execute(&sql).await; // expired LSNs and missing tables fail; that is fine
        }
        tm.project().wait_background().await;
        record(&tm, &mut held).await;
        // Every restorable version still reads back what it held.
        let now = clock.now();
        let retained: Vec<(String, u64)> = {
            let state = tm.project().state();
            let cut = cutoff(&state, now);
            state
                .tables
                .values()
                .flat_map(|t| {
                    restorable(t, cut)
                        .into_iter()
                        .filter(|e| !t.state_at(e.lsn).unwrap().dropped)
                        .map(|e| (t.id.clone(), e.lsn))
                })
                .collect()
        };
        for (id, lsn) in retained {
            let expected =
                held.get(&(id.clone(), lsn)).cloned().unwrap_or_else(|| panic!("step {step}: no record of {id}@{lsn}"));
            assert_eq!(read_version(&tm, &id, lsn).await, expected, "step {step} ({sql}): {id}@{lsn}");
            checks += 1;
        }
    }
    // Versions forgotten by purges (automatic or explicit) over the tables still known.
    let forgotten = tm.project().state().tables.values().map(|t| t.current.lsn as usize - t.entries().len()).sum();
    (checks, forgotten)
}

#[tokio::test]
async fn purges_never_delete_what_a_retained_version_reads() {
    let (checks, forgotten) = purge_safety(150, 11).await;
    assert!(checks > 300 && forgotten > 20, "{checks} checks, {forgotten} versions forgotten");
}
