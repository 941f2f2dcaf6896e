#!/usr/bin/env python3
"""The 22 TPC-H queries: on tables the time machine wrote, on plain DataFusion over the
generator's Parquet files, and on DuckDB over the same files; every answer compared.

    python3 benches/tpch/tpch.py [--sf 1] [--runs 3] [--data DIR]

Installs its pinned tools (tpchgen-cli, DuckDB) into a virtual environment of its own under
~/.cache (not the repository, not CI), generates the tables once as Parquet (one file each, under
~/.cache/timemachine-tpch/sf<N> unless --data says where), runs ours and plain DataFusion through
`cargo bench --bench timemachine -- --only tpch` (in-process, in turns, medians; ours loaded by
CREATE TABLE … AS SELECT from the files; lineitem and orders also clustered), then DuckDB with
as many threads as DataFusion has partitions, and prints one table: times, ratios, and whether
each of our answers equals DuckDB's (numbers to 6 significant digits: DataFusion keeps decimal
averages at 6 decimals where DuckDB returns doubles).
"""

import argparse
import csv
import datetime
import decimal
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pyvenv  # noqa: E402  (benches/pyvenv.py)

PINNED = ["tpchgen-cli==4.0.0", "duckdb==1.4.2"]
VENV = os.path.expanduser("~/.cache/timemachine-tpch-venv")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUERIES = os.path.join(ROOT, "benches", "tpch", "queries")
TABLES = ["customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier"]


def ensure_venv():
    """Re-runs this script inside the pinned virtual environment (created on first use)."""
    pyvenv.ensure_venv(VENV, PINNED)


def generate(sf, data):
    if all(os.path.exists(os.path.join(data, f"{t}.parquet")) for t in TABLES):
        return
    os.makedirs(data, exist_ok=True)
    tool = os.path.join(VENV, "bin", "tpchgen-cli")
    subprocess.check_call([tool, "parquet", "-s", str(sf), "--output-dir", data])


def ours(data, answers, runs):
    """Our times, our clustered tables' times, plain DataFusion's, and whether both answers agree."""
    cmd = ["cargo", "bench", "--locked", "--bench", "timemachine", "--", "--only", "tpch", "--tpch-data", data,
           "--tpch-answers", answers, "--runs", str(runs)]
    env = {**os.environ, "CARGO_TARGET_DIR": os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/tm-target"))}
    # Cargo's progress and any answer that differs from plain DataFusion's go to stderr, as they come.
    out = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, check=True).stdout
    figures, load = {}, None
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("TPCH load "):
            load = (float(parts[2]), float(parts[3]))
        elif line.startswith("TPCH q"):
            figures[int(parts[1][1:])] = (float(parts[2]), float(parts[3]), float(parts[4]), parts[6] == "same")
    return figures, load


def duckdb_run(data, runs, threads):
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    for t in TABLES:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{os.path.join(data, t + '.parquet')}')")
    figures = {}
    for q in range(1, 23):
        sql = open(os.path.join(QUERIES, f"q{q}.sql")).read()
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            rows = con.execute(sql).fetchall()
            times.append((time.perf_counter() - start) * 1000)
        figures[q] = (statistics.median(times), rows)
    return figures


def value(v):
    """A cell as a comparable value: numbers as floats, dates as ISO text, the rest as text."""
    if v is None or v == "":
        return None
    if isinstance(v, (int, float, decimal.Decimal)):
        return float(v)
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat()
    try:
        return float(v)
    except ValueError:
        return v


def same_cell(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)
    return a == b


def same_answer(ours_csv, rows):
    with open(ours_csv, newline="") as f:
        mine = [[value(c) for c in r] for r in list(csv.reader(f))[1:]]
    theirs = [[value(c) for c in r] for r in rows]
    return len(mine) == len(theirs) and all(
        len(a) == len(b) and all(same_cell(x, y) for x, y in zip(a, b)) for a, b in zip(mine, theirs)
    )


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sf", default="1")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--data", help="where the Parquet files are (generated there when missing)")
    a = p.parse_args()
    ensure_venv()
    data = a.data or os.path.expanduser(f"~/.cache/timemachine-tpch/sf{a.sf}")
    generate(a.sf, data)
    with tempfile.TemporaryDirectory() as answers:
        mine, load = ours(data, answers, a.runs)
        duck = duckdb_run(data, a.runs, os.cpu_count())
        print(f"TPC-H SF{a.sf}, medians of {a.runs} runs; load by CREATE TABLE … AS SELECT: {load[0]:,.0f} ms "
              f"(lineitem and orders once more, clustered: {load[1]:,.0f} ms)")
        print("| query | ours, ms | ours clustered, ms | plain DataFusion, ms | DuckDB, ms | ours / DataFusion "
              "| clustered / DataFusion | ours / DuckDB | answer = DuckDB's (= DataFusion's) |")
        print("|---|---|---|---|---|---|---|---|---|")
        r_df, r_cl, r_duck, equal = [], [], [], 0
        for q in range(1, 23):
            o, c, d, agree = mine[q]
            k, rows = duck[q]
            ok = same_answer(os.path.join(answers, f"q{q}.csv"), rows)
            equal += ok and agree
            r_df.append(o / d)
            r_cl.append(c / d)
            r_duck.append(o / k)
            print(f"| q{q} | {o:,.1f} | {c:,.1f} | {d:,.1f} | {k:,.1f} | {o / d:.2f} | {c / d:.2f} | {o / k:.2f} "
                  f"| {'yes' if ok else 'NO'} ({'yes' if agree else 'NO'}) |")
        print(f"| geomean | | | | | {geomean(r_df):.3f} | {geomean(r_cl):.3f} | {geomean(r_duck):.3f} "
              f"| {equal} of 22 |")


if __name__ == "__main__":
    main()
