//! The 22 TPC-H queries on tables the time machine wrote against plain DataFusion over the
//! generator's Parquet files, in turns, in one process (`--only tpch`, run by
//! benches/tpch/tpch.py, which generates the files with tpchgen-cli, adds DuckDB over the same
//! files and compares every answer). The tables are loaded by `CREATE TABLE … AS SELECT * FROM
//! '<file>'` as they come, and lineitem and orders once more clustered as a user would declare
//! them (by l_orderkey, by o_orderkey). Each query's answer on our tables must equal plain
//! DataFusion's; ours are written as CSV for the script to compare with DuckDB's.

use std::path::Path;
use std::time::{Duration, Instant};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use datafusion_timemachine::TimeMachine;

use crate::{exec, median, ms, row, scratch};

const TABLES: [&str; 8] = ["customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier"];

/// How a user would declare the two large tables (MaxCompute's hash clustering).
fn clustering(table: &str) -> Option<&'static str> {
    match table {
        "lineitem" => Some("CLUSTERED BY (l_orderkey) SORTED BY (l_orderkey) INTO 16 BUCKETS"),
        "orders" => Some("CLUSTERED BY (o_orderkey) SORTED BY (o_orderkey) INTO 4 BUCKETS"),
        _ => None,
    }
}

async fn ours(tm: &TimeMachine, sql: &str) -> (Duration, Vec<RecordBatch>) {
    let start = Instant::now();
    let batches = tm.execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}")).batches;
    (start.elapsed(), batches)
}

async fn plain(ctx: &SessionContext, sql: &str) -> (Duration, Vec<RecordBatch>) {
    let start = Instant::now();
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    (start.elapsed(), batches)
}

/// The rows as text, for comparing answers (numbers printed the same way on both sides).
fn shown(batches: &[RecordBatch]) -> String {
    pretty_format_batches(batches).map(|t| t.to_string()).unwrap_or_default()
}

fn write_csv(path: &Path, batches: &[RecordBatch]) {
    let file = std::fs::File::create(path).unwrap();
    let mut writer = datafusion::arrow::csv::WriterBuilder::new().with_header(true).build(file);
    for b in batches {
        writer.write(b).unwrap();
    }
}

fn geomean(ratios: &[f64]) -> f64 {
    (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp()
}

pub(crate) async fn bench_tpch(data: &Path, answers: &Path, runs: usize) {
    let dir = scratch("tpch");
    let tm = TimeMachine::open(dir.to_str().unwrap()).await.unwrap();
    let ctx = SessionContext::new();
    std::fs::create_dir_all(answers).unwrap();
    let (mut load, mut load_clustered) = (Duration::ZERO, Duration::ZERO);
    for t in TABLES {
        let file = data.join(format!("{t}.parquet"));
        let file = file.to_str().unwrap();
        ctx.register_parquet(t, file, ParquetReadOptions::default()).await.unwrap();
        let start = Instant::now();
        exec(&tm, &format!("CREATE TABLE {t} AS SELECT * FROM '{file}'")).await;
        load += start.elapsed();
        if let Some(layout) = clustering(t) {
            let start = Instant::now();
            exec(&tm, &format!("CREATE TABLE c_{t} {layout} AS SELECT * FROM '{file}'")).await;
            load_clustered += start.elapsed();
        }
    }
    println!("TPCH load {:.1} {:.1}", load.as_secs_f64() * 1000.0, load_clustered.as_secs_f64() * 1000.0);
    let (mut to_plain, mut clustered_to_plain) = (vec![], vec![]);
    for q in 1..=22 {
        let path = crate::source_dir().join(format!("benches/tpch/queries/q{q}.sql"));
        let sql = std::fs::read_to_string(&path).unwrap();
        // The same query over the clustered lineitem and orders (c_<table>, the others shared);
        // neither name is a column alias in any of the 22 queries (`nation` is).
        let mut on_clustered = sql.clone();
        for t in TABLES.into_iter().filter(|t| clustering(t).is_some()) {
            on_clustered = replace_word(&on_clustered, t, &format!("c_{t}"));
        }
        let (mut t_ours, mut t_clustered, mut t_plain) = (vec![], vec![], vec![]);
        let (mut answer, mut expected, mut clustered_answer) = (vec![], vec![], vec![]);
        // In turns: ours, clustered, plain, ours, …
        for _ in 0..runs {
            let t;
            (t, answer) = ours(&tm, &sql).await;
            t_ours.push(t);
            let t;
            (t, clustered_answer) = ours(&tm, &on_clustered).await;
            t_clustered.push(t);
            let t;
            (t, expected) = plain(&ctx, &sql).await;
            t_plain.push(t);
        }
        let (ours_text, plain_text) = (shown(&answer), shown(&expected));
        let same = ours_text == plain_text && shown(&clustered_answer) == plain_text;
        if let Some((a, b)) = ours_text.lines().zip(plain_text.lines()).find(|(a, b)| a != b) {
            eprintln!("q{q}: ours {a}\nq{q}: plain DataFusion {b}");
        }
        write_csv(&answers.join(format!("q{q}.csv")), &answer);
        let (a, c, p) = (median(t_ours), median(t_clustered), median(t_plain));
        to_plain.push(a.as_secs_f64() / p.as_secs_f64());
        clustered_to_plain.push(c.as_secs_f64() / p.as_secs_f64());
        let rows: usize = answer.iter().map(|b| b.num_rows()).sum();
        println!(
            "TPCH q{q} {:.2} {:.2} {:.2} {rows} {}",
            a.as_secs_f64() * 1000.0,
            c.as_secs_f64() * 1000.0,
            p.as_secs_f64() * 1000.0,
            if same { "same" } else { "DIFFERENT" }
        );
        row(
            &format!("TPC-H q{q} ours vs plain DataFusion{}", if same { "" } else { " (ANSWER DIFFERS)" }),
            ms(a),
            ms(p),
            format!("{:.3}", a.as_secs_f64() / p.as_secs_f64()),
            "",
        );
    }
    row("TPC-H geomean, ours / plain", String::new(), String::new(), format!("{:.3}", geomean(&to_plain)), "<= 0.9");
    row(
        "TPC-H geomean, ours clustered / plain",
        String::new(),
        String::new(),
        format!("{:.3}", geomean(&clustered_to_plain)),
        "<= 0.9",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `text` with every whole-word `word` (not part of a longer identifier) replaced.
pub(crate) fn replace_word(text: &str, word: &str, by: &str) -> String {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(word) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + word.len()..].chars().next();
        out.push_str(&rest[..i]);
        let quoted = before == Some('\'');
        out.push_str(if before.is_some_and(ident) || after.is_some_and(ident) || quoted { word } else { by });
        rest = &rest[i + word.len()..];
    }
    out.push_str(rest);
    out
}
