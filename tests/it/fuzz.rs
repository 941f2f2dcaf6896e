//! Hostile input: generated statements never panic the parser or the executor, and no name or
//! value reaches outside the warehouse.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::AtomicU64;

use datafusion_timemachine::TimeMachine;
use datafusion_timemachine::sql::parse;

use crate::run;
use crate::store::next_random;

const WORDS: &[&str] = &[
    "CREATE",
    "TABLE",
    "DROP",
    "ALTER",
    "RENAME",
    "TO",
    "PARTITION",
    "PARTITIONED",
    "BY",
    "INSERT",
    "INTO",
    "OVERWRITE",
    "VALUES",
    "SELECT",
    "FROM",
    "WHERE",
    "SHOW",
    "HISTORY",
    "FOR",
    "TABLES",
    "RESTORE",
    "LSN",
    "AS",
    "SETPROJECT",
    "PURGE",
    "LIST",
    "PARTITIONS",
    "TRUNCATE",
    "IF",
    "EXISTS",
    "NOT",
    "LIFECYCLE",
    "STRING",
    "BIGINT",
    "DECIMAL",
    "t",
    "u",
    "ds",
    "a",
    "`t`",
    "`../x`",
    "'id'",
    "'x'",
    "\"0\"",
    "'0000000000000001'",
    "'99999999999999999999'",
    "'-1'",
    "1",
    "-1",
    "1.5",
    "(",
    ")",
    ",",
    "=",
    ";",
    ".",
    "*",
    "'",
    "\"",
    "`",
    "--",
    "/*",
    "\0",
    "é",
    "🙂",
    "odps.timemachine.retention.days=1",
    "generate_series(1, 3)",
    "NULL",
];

const SEEDS: &[&str] = &[
    "CREATE TABLE t (a STRING) PARTITIONED BY (ds STRING) LIFECYCLE 1",
    "INSERT OVERWRITE TABLE t PARTITION (ds=\"1\") VALUES (\"x\")",
    "INSERT INTO t PARTITION (ds) SELECT 'a', 'b'",
    "ALTER TABLE t DROP IF EXISTS PARTITION (ds='1'), PARTITION (ds='2')",
    "RESTORE TABLE t PARTITION (ds='1') TO LSN '0000000000000002' AS u",
    "RESTORE TABLE t ('id'='0123456789abcdef0123456789abcdef')",
    "SHOW HISTORY FOR TABLE t ('id'='0123456789abcdef0123456789abcdef') PARTITION ('id'='x')",
    "SETPROJECT odps.timemachine.retention.days=3",
    "SELECT * FROM t WHERE ds = '1'",
];

struct Gen(AtomicU64);

impl Gen {
    fn below(&self, n: usize) -> usize {
        (next_random(&self.0) % n as u64) as usize
    }
}

/// A random statement: words from the vocabulary, or a valid statement mutated.
fn generate(g: &Gen) -> String {
    match g.below(3) {
        0 => (0..1 + g.below(14)).map(|_| WORDS[g.below(WORDS.len())]).collect::<Vec<_>>().join(" "),
        1 => {
            let mut s: Vec<char> = SEEDS[g.below(SEEDS.len())].chars().collect();
            for _ in 0..1 + g.below(4) {
                let i = g.below(s.len() + 1);
                match g.below(3) {
                    0 if i < s.len() => {
                        s.remove(i);
                    }
                    1 => s.insert(i, ['(', ')', '\'', '"', '`', ',', ';', '=', ' ', '\0', 'x', '9'][g.below(12)]),
                    _ if i < s.len() => s.truncate(i),
                    _ => {}
                }
            }
            s.into_iter().collect()
        }
        _ => {
            let mut words: Vec<&str> = SEEDS[g.below(SEEDS.len())].split(' ').collect();
            let i = g.below(words.len());
            words[i] = WORDS[g.below(WORDS.len())];
            words.join(" ")
        }
    }
}

/// Parses `n` generated statements and runs every `every`-th; returns (parsed, executed).
pub async fn fuzz(n: usize, every: usize, seed: u64) -> (usize, usize) {
    let g = Gen(AtomicU64::new(seed | 1));
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(
        &tm,
        &["CREATE TABLE t (a STRING) PARTITIONED BY (ds STRING)", "INSERT INTO t PARTITION (ds='1') VALUES ('x')"],
    )
    .await;
    let mut executed = 0;
    for i in 0..n {
        let sql = generate(&g);
        let parsed = std::panic::catch_unwind(AssertUnwindSafe(|| parse(&sql)));
        assert!(parsed.is_ok(), "the parser panicked on {sql:?}");
        if i.is_multiple_of(every) {
            let tm = tm.clone();
            let sql2 = sql.clone();
            let outcome = tokio::spawn(async move { tm.execute(&sql2).await.map(|_| ()) }).await;
            assert!(outcome.is_ok(), "executing {sql:?} panicked");
            executed += 1;
        }
    }
    (n, executed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_statements_never_panic() {
    let (parsed, executed) = fuzz(20_000, 10, 42).await;
    assert_eq!((parsed, executed), (20_000, 2_000));
}

/// The long run for the reliability note: `cargo test --release --test it -- --ignored fuzz_long`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn fuzz_long() {
    let (parsed, executed) = fuzz(1_000_000, 20, 4242).await;
    println!("fuzz: {parsed} statements parsed, {executed} executed, 0 panics");
}

#[tokio::test]
async fn names_and_values_cannot_leave_the_warehouse() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let tm = TimeMachine::open(wh.to_str().unwrap()).await.unwrap();
    run(&tm, &["CREATE TABLE t (a STRING) PARTITIONED BY (ds STRING)"]).await;
    let long = "x".repeat(300);
    for bad in [
        "CREATE TABLE `../escape` (a STRING)".to_string(),
        "CREATE TABLE `/abs` (a STRING)".into(),
        "CREATE TABLE `a\0b` (a STRING)".into(),
        format!("CREATE TABLE {long} (a STRING)"),
        "CREATE TABLE t2 (`../c` STRING)".into(),
        "INSERT INTO t PARTITION (ds='../../../etc') VALUES ('x')".into(),
        "INSERT INTO t PARTITION (ds='/etc/passwd') VALUES ('x')".into(),
        "INSERT INTO t PARTITION (ds='a\0b') VALUES ('x')".into(),
        format!("INSERT INTO t PARTITION (ds='{long}') VALUES ('x')"),
        "INSERT INTO t PARTITION (ds) VALUES ('x', '..')".into(),
        "ALTER TABLE t RENAME TO `../t`".into(),
        "RESTORE TABLE t TO LSN '-5'".into(),
        "RESTORE TABLE t TO LSN '18446744073709551616'".into(),
        "RESTORE TABLE t ('id'='../../0123456789abcdef0123456789')".into(),
        "RESTORE TABLE t ('id'='0123456789abcdef')".into(),
        "SHOW HISTORY FOR TABLE t ('id'='0123456789abcdef0123456789abcdef0')".into(),
    ] {
        assert!(tm.execute(&bad).await.is_err(), "{bad} should fail");
    }
    let outside: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(outside, vec![std::ffi::OsString::from("wh")]);
    assert!(TimeMachine::builder().location(wh.to_str().unwrap()).project("../other").build().await.is_err());
}
