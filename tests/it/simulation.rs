//! Deterministic interleavings of the commit protocol, in the spirit of FoundationDB's
//! simulation testing. Writers, a purger (expiry, sweep, checkpoints, compaction) and readers run
//! as tasks on one thread over a store in which every operation waits until a seeded scheduler
//! lets it go on (or fails it); the scheduler also moves the clock. The order comes from the seed
//! alone, so a failing seed replays exactly: `SIMULATION_SEED=123 cargo test --test it simulation`.
//!
//! Checked for every seed: every statement that reported OK is visible to a fresh reader and no
//! row appears twice; the table's LSN counts exactly the appends that landed (no gap, no
//! duplicate); every version still listed as restorable reads back its files; a query planned
//! before a purge reads its version to the end (within the grace period), also while another
//! writer overwrites a table whose expired versions' files purges free; one statement reads every
//! table (and the history functions) at one log version; appends to a table that MERGE SMALLFILES
//! compacts meanwhile all land once.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions,
    PutOptions, PutPayload, PutResult, Result,
};
use tokio::sync::oneshot;

use datafusion_timemachine::{ManualClock, TimeMachine, Warehouse};

use crate::store::next_random;

/// What the scheduler lets a waiting operation do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Proceed,
    Fail,
}

#[derive(Default)]
struct Gate {
    waiting: Mutex<Vec<(String, oneshot::Sender<Decision>)>>,
}

impl Gate {
    async fn pass(&self, what: String) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().unwrap().push((what.clone(), tx));
        match rx.await {
            Ok(Decision::Proceed) | Err(_) => Ok(()),
            Ok(Decision::Fail) => Err(object_store::Error::Generic {
                store: "Simulated",
                source: format!("simulated failure of {what}").into(),
            }),
        }
    }

    fn waiting(&self) -> usize {
        self.waiting.lock().unwrap().len()
    }

    /// Lets waiting operation `pick % n` go on (or fail); with `newest`, the one that started
    /// waiting last, so that early ones stall (as a slow process does).
    fn release(&self, pick: u64, newest: bool, decision: Decision) -> Option<String> {
        let mut waiting = self.waiting.lock().unwrap();
        if waiting.is_empty() {
            return None;
        }
        let i = if newest { waiting.len() - 1 } else { (pick % waiting.len() as u64) as usize };
        let (what, tx) = waiting.remove(i);
        let _ = tx.send(decision);
        Some(what)
    }
}

/// An in-memory store whose every operation waits at the gate.
struct Simulated {
    inner: Arc<dyn ObjectStore>,
    gate: Arc<Gate>,
    /// Data files survive deletes (seeds without a grace period: a purge may legitimately sweep
    /// a statement's files in flight then, and the log protocol is what those seeds test).
    keep_data: bool,
}

impl fmt::Debug for Simulated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Simulated")
    }
}

impl fmt::Display for Simulated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Simulated")
    }
}

impl Simulated {
    fn gated_stream<T: Send + 'static>(
        &self,
        what: String,
        then: impl FnOnce() -> BoxStream<'static, Result<T>> + Send + 'static,
    ) -> BoxStream<'static, Result<T>> {
        let gate = Arc::clone(&self.gate);
        futures::stream::once(async move {
            match gate.pass(what).await {
                Ok(()) => then(),
                Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
            }
        })
        .flatten()
        .boxed()
    }
}

#[async_trait]
impl ObjectStore for Simulated {
    async fn put_opts(&self, location: &Path, payload: PutPayload, opts: PutOptions) -> Result<PutResult> {
        self.gate.pass(format!("put {location}")).await?;
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(&self, location: &Path, opts: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        self.gate.pass(format!("multipart {location}")).await?;
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.gate.pass(format!("get {location}")).await?;
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(&self, locations: BoxStream<'static, Result<Path>>) -> BoxStream<'static, Result<Path>> {
        let (inner, keep_data) = (Arc::clone(&self.inner), self.keep_data);
        self.gated_stream("delete".into(), move || {
            locations
                .then(move |path| {
                    let inner = Arc::clone(&inner);
                    async move {
                        let path = path?;
                        if !(keep_data && path.as_ref().contains("/data/")) {
                            object_store::ObjectStoreExt::delete(inner.as_ref(), &path).await?;
                        }
                        Ok(path)
                    }
                })
                .boxed()
        })
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let (inner, prefix) = (Arc::clone(&self.inner), prefix.cloned());
        self.gated_stream(format!("list {prefix:?}"), move || inner.list(prefix.as_ref()))
    }

    fn list_with_offset(&self, prefix: Option<&Path>, offset: &Path) -> BoxStream<'static, Result<ObjectMeta>> {
        let (inner, prefix, offset) = (Arc::clone(&self.inner), prefix.cloned(), offset.clone());
        self.gated_stream(format!("list {prefix:?}"), move || inner.list_with_offset(prefix.as_ref(), &offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.gate.pass(format!("list {prefix:?}")).await?;
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.gate.pass(format!("copy {from}")).await?;
        self.inner.copy_opts(from, to, options).await
    }
}

/// What one seed did.
#[derive(Debug, Default)]
struct Outcome {
    steps: usize,
    ok_inserts: usize,
    /// 1 when table m ended in fewer files than appends (a merge landed).
    compacted: usize,
}

/// Runs one seed to the end and checks the invariants; panics with the seed on a violation.
async fn simulate(seed: u64) -> Outcome {
    let rng = Arc::new(std::sync::atomic::AtomicU64::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1));
    let inner: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let gate = Arc::new(Gate::default());
    let store =
        Arc::new(Simulated { inner: Arc::clone(&inner), gate: Arc::clone(&gate), keep_data: seed.is_multiple_of(2) });
    let clock = Arc::new(ManualClock::new("2020-02-18T00:00:00Z".parse().unwrap()));
    let warehouse = Warehouse::with_store(store as _, "simulated");
    // Setup runs with every operation let through.
    let setup = {
        let (warehouse, clock) = (warehouse.clone(), Arc::clone(&clock));
        tokio::spawn(async move {
            let tm = TimeMachine::builder().warehouse(warehouse).clock(clock).build().await.unwrap();
            // Even seeds: a zero grace period, so sweeps and log compaction run under the writers
            // (data files are kept: without a grace period a purge may sweep a statement's files
            // in flight, as documented). Odd seeds: an hour, and readers are checked.
            let grace = if seed.is_multiple_of(2) { 0 } else { 3600 };
            for sql in [
                "SETPROJECT odps.timemachine.retention.days=0".to_string(),
                format!("SETPROJECT timemachine.purge.grace.seconds={grace}"),
                "CREATE TABLE t (v STRING)".to_string(),
                "CREATE TABLE o (v STRING)".to_string(),
                "CREATE TABLE m (v STRING)".to_string(),
                "CREATE TABLE d (v STRING) TBLPROPERTIES ('timemachine.delete.mode'='merge-on-read')".to_string(),
                format!(
                    "INSERT INTO d VALUES {}",
                    (0..10).map(|i| format!("('d-{i}')")).collect::<Vec<_>>().join(", ")
                ),
                "INSERT OVERWRITE TABLE o VALUES ('o-init')".to_string(),
                // Retention 0 expires it at the next overwrite; the tag keeps it and its file.
                "ALTER TABLE o CREATE TAG init".to_string(),
            ] {
                tm.execute(&sql).await.unwrap();
            }
            // The purge the overwrite started runs while the setup's operations are let through.
            tm.project().wait_background().await;
            tm
        })
    };
    while !setup.is_finished() {
        gate.release(0, false, Decision::Proceed);
        tokio::task::yield_now().await;
    }
    let admin = setup.await.unwrap();
    admin.project().wait_background().await;

    let ok: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let attempted: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let violations: Arc<Mutex<Vec<String>>> = Arc::default();
    // Progress of the overwriter and the purger, which a reader waits for between planning and
    // reading (so that its version can expire and be purged under it).
    let overwrites = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let purges = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut actors = vec![];
    for w in 0..2 {
        let (warehouse, clock, ok, attempted) =
            (warehouse.clone(), Arc::clone(&clock), Arc::clone(&ok), Arc::clone(&attempted));
        actors.push(tokio::spawn(async move {
            let Ok(tm) = TimeMachine::builder().warehouse(warehouse).clock(clock).build().await else { return };
            for i in 0..6 {
                let value = format!("w{w}-{i}");
                attempted.lock().unwrap().insert(value.clone());
                if tm.execute(&format!("INSERT INTO t VALUES ('{value}')")).await.is_ok() {
                    ok.lock().unwrap().insert(value);
                }
            }
            tm.project().wait_background().await;
        }));
    }
    // Two deleters remove rows of the same file of d through deletion vectors: a delete that
    // reported OK is gone, a row nobody tried to delete stays (a lost race fails cleanly).
    let d_ok: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let d_attempted: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    for w in 0..2 {
        let (warehouse, clock, ok, attempted) =
            (warehouse.clone(), Arc::clone(&clock), Arc::clone(&d_ok), Arc::clone(&d_attempted));
        actors.push(tokio::spawn(async move {
            let Ok(tm) = TimeMachine::builder().warehouse(warehouse).clock(clock).build().await else { return };
            for i in 0..3 {
                let value = format!("d-{}", w * 5 + i);
                attempted.lock().unwrap().insert(value.clone());
                if tm.execute(&format!("DELETE FROM d WHERE v = '{value}'")).await.is_ok() {
                    ok.lock().unwrap().insert(value);
                }
            }
            tm.project().wait_background().await;
        }));
    }
    let m_ok: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let m_attempted: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    {
        // Appends to m while a compactor merges its small files (MERGE SMALLFILES rebases over
        // the appends; a merge that loses a race fails cleanly).
        let (w, c, ok, attempted) =
            (warehouse.clone(), Arc::clone(&clock), Arc::clone(&m_ok), Arc::clone(&m_attempted));
        actors.push(tokio::spawn(async move {
            let Ok(tm) = TimeMachine::builder().warehouse(w).clock(c).build().await else { return };
            for i in 0..5 {
                let value = format!("m-{i}");
                attempted.lock().unwrap().insert(value.clone());
                if tm.execute(&format!("INSERT INTO m VALUES ('{value}')")).await.is_ok() {
                    ok.lock().unwrap().insert(value);
                }
            }
            tm.project().wait_background().await;
        }));
        let (warehouse, clock, landed) = (warehouse.clone(), Arc::clone(&clock), Arc::clone(&m_ok));
        actors.push(tokio::spawn(async move {
            let Ok(tm) = TimeMachine::builder().warehouse(warehouse).clock(clock).build().await else { return };
            for round in 1..=3 {
                // Once a few appends landed (a while at most), so that there is something to merge.
                let mut waited = 0;
                while waited < 3000 && landed.lock().unwrap().len() < 2 * round {
                    tokio::task::yield_now().await;
                    waited += 1;
                }
                let _ = tm.execute("ALTER TABLE m MERGE SMALLFILES").await;
            }
            tm.project().wait_background().await;
        }));
    }
    {
        // An overwriter: at retention 0 each overwrite expires the version before it, whose file
        // a purge frees (and, once the grace period has passed, deletes).
        let (warehouse, clock, overwrites) = (warehouse.clone(), Arc::clone(&clock), Arc::clone(&overwrites));
        actors.push(tokio::spawn(async move {
            let Ok(tm) = TimeMachine::builder().warehouse(warehouse).clock(clock).build().await else { return };
            for i in 0..4 {
                let _ = tm.execute(&format!("INSERT OVERWRITE TABLE o VALUES ('o{i}')")).await;
                overwrites.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            tm.project().wait_background().await;
        }));
    }
    {
        // The purger: expiry at retention 0, sweep, checkpoints, compaction.
        let (warehouse, clock, purges) = (warehouse.clone(), Arc::clone(&clock), Arc::clone(&purges));
        actors.push(tokio::spawn(async move {
            let Ok(tm) = TimeMachine::builder().warehouse(warehouse).clock(clock).build().await else { return };
            for _ in 0..6 {
                let _ = datafusion_timemachine::purge_project(tm.project(), usize::MAX).await;
                purges.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }));
    }
    {
        // A reader that plans, lets the others run, then reads: it must get its version.
        let (warehouse, clock, violations) = (warehouse.clone(), Arc::clone(&clock), Arc::clone(&violations));
        let (overwrites, purges) = (Arc::clone(&overwrites), Arc::clone(&purges));
        actors.push(tokio::spawn(async move {
            let Ok(tm) = TimeMachine::builder().warehouse(warehouse).clock(Arc::clone(&clock) as _).build().await else { return };
            for query in ["SELECT count(*) FROM t", "SELECT v FROM o", "SELECT v FROM o"] {
                let Ok(df) = tm.sql(query).await else { continue };
                let planned_at = datafusion_timemachine::Clock::now(clock.as_ref());
                // Wait (a while at most) for an overwrite and then a purge to complete: the
                // version planned may have expired and been purged by then.
                let seen = |c: &std::sync::atomic::AtomicUsize| c.load(std::sync::atomic::Ordering::SeqCst);
                let (o0, p0) = (seen(&overwrites), seen(&purges));
                let mut waited = 0;
                while waited < 3000 && !(seen(&overwrites) > o0 && seen(&purges) > p0 + 1) {
                    tokio::task::yield_now().await;
                    waited += 1;
                }
                // One statement, one log version: t's rows and t's history agree (each append is
                // one row and one LSN).
                if let Ok(r) = tm.execute(
                    "SELECT (SELECT count(*) FROM t) AS n, (SELECT max(lsn_number) FROM timemachine_history('t')) AS l",
                ).await {
                    use datafusion::arrow::array::AsArray;
                    use datafusion::arrow::datatypes::Int64Type;
                    let b = &r.batches[0];
                    let (n, l) = (b.column(0).as_primitive::<Int64Type>().value(0), b.column(1).as_primitive::<Int64Type>().value(0));
                    if n + 1 != l {
                        violations.lock().unwrap().push(format!("one statement saw t with {n} rows and its history at LSN {l}"));
                    }
                }
                if let Err(e) = df.collect().await {
                    let grace = chrono::Duration::from_std(tm.project().grace()).unwrap_or_default();
                    let within_grace = datafusion_timemachine::Clock::now(clock.as_ref()) - planned_at < grace;
                    let missing = e.to_string().contains("not found");
                    if within_grace && missing {
                        violations.lock().unwrap().push(format!("a planned read lost its files: {e}"));
                    }
                }
            }
        }));
    }

    // The scheduler: when every task waits (nothing changes over a few yields), pick one
    // waiting operation by the seed, let it go on or fail it, sometimes move the clock.
    let mut steps = 0;
    loop {
        let mut seen = usize::MAX;
        let mut still = 0;
        while still < 8 {
            tokio::task::yield_now().await;
            let now = gate.waiting();
            if now == seen {
                still += 1
            } else {
                still = 0;
                seen = now;
            }
        }
        if actors.iter().all(|a| a.is_finished()) && gate.waiting() == 0 {
            break;
        }
        if gate.waiting() == 0 {
            // Someone sleeps (a commit's backoff): let real time pass.
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            continue;
        }
        let r = next_random(&rng);
        let decision = if r % 100 < 4 { Decision::Fail } else { Decision::Proceed };
        if (r >> 8).is_multiple_of(50) {
            clock.advance(chrono::Duration::minutes(((r >> 16) % 90) as i64));
        }
        // A third of the seeds mostly serve the newest waiting operation: the others stall long.
        let newest = (seed / 2) % 3 == 1 && !(r >> 40).is_multiple_of(8);
        gate.release(r >> 24, newest, decision);
        steps += 1;
        assert!(steps < 20_000, "seed {seed}: no progress after {steps} steps");
    }
    for a in actors {
        a.await.unwrap();
    }
    let violations = violations.lock().unwrap().clone();
    assert!(violations.is_empty(), "seed {seed}: {violations:?}");

    // A fresh reader, straight on the store (no gate, no faults), is the judge.
    let fresh = TimeMachine::builder()
        .warehouse(Warehouse::with_store(inner, "judge"))
        .clock(Arc::clone(&clock) as _)
        .build()
        .await
        .unwrap_or_else(|e| panic!("seed {seed}: the warehouse does not open: {e}"));
    let ok = ok.lock().unwrap().clone();
    let attempted = attempted.lock().unwrap().clone();
    let state = fresh.project().state();
    let table = state.live_table("t").unwrap_or_else(|| panic!("seed {seed}: table t is gone"));
    // Metadata: each append that landed is one version with one file; OKs all landed.
    let landed = table.current.lsn as usize - 1;
    let files: usize = table.current.partitions.values().map(|p| p.files.len()).sum();
    assert_eq!(files, landed, "seed {seed}: versions and files disagree (a gap or a duplicate)");
    assert!(
        ok.len() <= landed && landed <= attempted.len(),
        "seed {seed}: {} OK, {landed} landed, {} tried",
        ok.len(),
        attempted.len()
    );
    let rows = match fresh.execute("SELECT v FROM t").await {
        Ok(_) => crate::rows(&fresh, "SELECT v FROM t").await,
        Err(e) => panic!("seed {seed}: the current version does not read: {e}"),
    };
    let visible: BTreeSet<String> = rows.iter().cloned().collect();
    assert_eq!(visible.len(), rows.len(), "seed {seed}: a row appears twice: {rows:?}");
    assert_eq!(visible.len(), landed, "seed {seed}: rows and versions disagree");
    assert!(ok.is_subset(&visible), "seed {seed}: OK but invisible: {:?}", ok.difference(&visible).collect::<Vec<_>>());
    assert!(visible.is_subset(&attempted), "seed {seed}: rows nobody wrote");
    // The overwritten table's current version reads back: one row.
    match fresh.execute("SELECT v FROM o").await {
        Ok(r) => assert_eq!(r.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1, "seed {seed}: table o"),
        Err(e) => panic!("seed {seed}: table o's current version does not read: {e}"),
    }
    // The tagged version always reads back, whatever expired and was purged around it.
    match fresh.execute("SELECT v FROM o VERSION AS OF 'init'").await {
        Ok(_) => assert_eq!(crate::rows(&fresh, "SELECT v FROM o VERSION AS OF 'init'").await, vec!["o-init"]),
        Err(e) => panic!("seed {seed}: the tagged version of o does not read: {e}"),
    }
    // The compacted table: every append that reported OK once, nothing twice, nothing invented.
    let m_rows = match fresh.execute("SELECT v FROM m").await {
        Ok(_) => crate::rows(&fresh, "SELECT v FROM m").await,
        Err(e) => panic!("seed {seed}: table m does not read: {e}"),
    };
    let m_visible: BTreeSet<String> = m_rows.iter().cloned().collect();
    assert_eq!(m_visible.len(), m_rows.len(), "seed {seed}: a row of m appears twice: {m_rows:?}");
    assert!(m_ok.lock().unwrap().is_subset(&m_visible), "seed {seed}: an OK append to m is lost: {m_rows:?}");
    assert!(m_visible.is_subset(&m_attempted.lock().unwrap()), "seed {seed}: rows of m nobody wrote");
    let d_rows = match fresh.execute("SELECT v FROM d").await {
        Ok(_) => crate::rows(&fresh, "SELECT v FROM d").await,
        Err(e) => panic!("seed {seed}: table d does not read: {e}"),
    };
    let d_visible: BTreeSet<String> = d_rows.iter().cloned().collect();
    assert_eq!(d_visible.len(), d_rows.len(), "seed {seed}: a row of d appears twice: {d_rows:?}");
    let d_ok = d_ok.lock().unwrap().clone();
    assert!(d_ok.is_disjoint(&d_visible), "seed {seed}: an OK delete from d is lost: {d_rows:?}");
    let untouched: BTreeSet<String> =
        (0..10).map(|i| format!("d-{i}")).filter(|v| !d_attempted.lock().unwrap().contains(v)).collect();
    assert!(untouched.is_subset(&d_visible), "seed {seed}: d lost rows nobody deleted: {d_rows:?}");
    let m = state.live_table("m").unwrap_or_else(|| panic!("seed {seed}: table m is gone"));
    let m_files: usize = m.current.partitions.values().map(|p| p.files.len()).sum();
    assert!(m_files <= m_rows.len(), "seed {seed}: m has {m_files} files for {} appends", m_rows.len());
    for entry in m.entries().iter() {
        let sql = format!("SELECT count(*) FROM m VERSION AS OF {}", entry.lsn);
        if let Err(e) = fresh.execute(&sql).await
            && !e.to_string().contains("expired")
        {
            panic!("seed {seed}: retained LSN {} of m does not read back: {e}", entry.lsn);
        }
    }
    for entry in table.entries().iter() {
        let sql = format!("SELECT count(*) FROM t VERSION AS OF {}", entry.lsn);
        match fresh.execute(&sql).await {
            Ok(_) => {}
            Err(e) if e.to_string().contains("expired") => {}
            Err(e) => panic!("seed {seed}: retained LSN {} does not read back: {e}", entry.lsn),
        }
    }
    Outcome { steps, ok_inserts: ok.len(), compacted: usize::from(m_files < m_rows.len()) }
}

fn run_seeds(seeds: impl Iterator<Item = u64>) -> (usize, usize, usize, usize) {
    let (mut n, mut steps, mut oks, mut compacted) = (0, 0, 0, 0);
    for seed in seeds {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let outcome = rt.block_on(simulate(seed));
        n += 1;
        steps += outcome.steps;
        oks += outcome.ok_inserts;
        compacted += outcome.compacted;
    }
    (n, steps, oks, compacted)
}

#[test]
fn seeded_interleavings_keep_every_invariant() {
    let one = std::env::var("SIMULATION_SEED").is_ok();
    let seeds: Box<dyn Iterator<Item = u64>> = match std::env::var("SIMULATION_SEED") {
        Ok(s) => Box::new(std::iter::once(s.parse().expect("a seed is a number"))),
        // And the seeds beyond 150 that found bugs: 254, 338 and 620 an invisible OK on the
        // main before the safety fixes (a stalled writer across compaction), 686 a handle that
        // read a stalled writer's entry put below a checkpoint (fixed: refresh starts from the
        // newest checkpoint before reading the log).
        Err(_) => Box::new((0..150).chain([254, 338, 620, 686])),
    };
    let (n, steps, oks, compacted) = run_seeds(seeds);
    eprintln!(
        "simulation: {n} seeds, {steps} scheduled operations, {oks} OK inserts, {compacted} seeds compacted, 0 violations"
    );
    // Across the default seeds some insert and some merge must succeed (one seed alone may
    // schedule none).
    assert!(one || (oks > 0 && compacted > 0));
}

#[test]
#[ignore = "long: 100,000 seeds (cargo test --release --test it -- --ignored simulation_long)"]
fn simulation_long() {
    let (n, steps, _, _) = run_seeds(0..100_000);
    eprintln!("simulation: {n} seeds, {steps} scheduled operations, 0 violations");
}
