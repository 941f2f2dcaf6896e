#!/usr/bin/env python3
"""The time machine side by side with delta-rs and Lance, on the same workloads and sizes.

    python3 benches/peers/peers.py [--rows 20000000] [--appends 3000] [--runs 5] [--features ballista]
    .ci/with_s3.sh python3 benches/peers/peers.py …   # adds commits/s on the S3 server (moto)

Installs its pinned peers (deltalake, pylance, pyarrow, duckdb) into a virtual environment of its
own under ~/.cache (not the repository, not CI), runs each workload on each system, runs ours
through `cargo bench --bench timemachine -- --only peers` (the same workloads in-process), and
prints one table with a column per system. The peers run through their Python bindings, which
adds a little per call; the write takes the same in-memory Arrow batches on every side.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pyvenv  # noqa: E402  (benches/pyvenv.py)

PINNED = ["deltalake==1.6.6", "pylance==14.0.2", "pyarrow==26.0.1", "duckdb==1.4.2"]
VENV = os.path.expanduser("~/.cache/timemachine-peers-venv")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ensure_venv():
    """Re-runs this script inside the pinned virtual environment (created on first use)."""
    pyvenv.ensure_venv(VENV, PINNED)


def median_ms(f, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        f()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def dir_bytes(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    return total


def batches(rows, size=1_000_000):
    """The rows every system writes: a STRING 'row-i', b BIGINT i, as Arrow batches."""
    import pyarrow as pa

    out = []
    for start in range(0, rows, size):
        n = min(size, rows - start)
        b = pa.array(range(start, start + n), pa.int64())
        a = pa.array([f"row-{i}" for i in range(start, start + n)], pa.string())
        out.append(pa.record_batch([a, b], names=["a", "b"]))
    return out


class Delta:
    name = "delta-rs"

    def __init__(self, dir):
        self.dir = dir

    def path(self, t):
        return os.path.join(self.dir, t)

    def write(self, t, data, mode="append"):
        import deltalake

        deltalake.write_deltalake(self.path(t), data, mode=mode)

    def open(self, t):
        import deltalake

        return deltalake.DeltaTable(self.path(t))

    def restore(self, t, version):
        self.open(t).restore(version)

    def history(self, t):
        return len(self.open(t).history())

    def scan(self, t):
        import pyarrow.compute as pc

        ds = self.open(t).to_pyarrow_dataset()
        col = ds.to_table(columns=["b"]).column("b")
        return pc.sum(col).as_py(), len(col)

    def metadata_bytes(self, t):
        return dir_bytes(os.path.join(self.path(t), "_delta_log"))

    def files(self, t):
        return [u.removeprefix("file://") for u in self.open(t).file_uris()]


class Lance:
    name = "Lance"

    def __init__(self, dir):
        self.dir = dir

    def path(self, t):
        return os.path.join(self.dir, t + ".lance")

    def write(self, t, data, mode="append"):
        import lance

        mode = "create" if not os.path.exists(self.path(t)) else mode
        lance.write_dataset(data, self.path(t), mode=mode)

    def open(self, t):
        import lance

        return lance.dataset(self.path(t))

    def restore(self, t, version):
        import lance

        lance.dataset(self.path(t), version=version).restore()

    def history(self, t):
        return len(self.open(t).versions())

    def scan(self, t):
        import pyarrow.compute as pc

        col = self.open(t).to_table(columns=["b"]).column("b")
        return pc.sum(col).as_py(), len(col)

    def metadata_bytes(self, t):
        return sum(dir_bytes(os.path.join(self.path(t), d)) for d in ["_versions", "_transactions"])

    def files(self, t):
        return None


def peer_figures(system, rows, appends, runs):
    import pyarrow as pa

    out = {}
    data = batches(rows)
    table = pa.Table.from_batches(data)
    # Write: the same in-memory batches as one version.
    def write_once():
        shutil.rmtree(system.path("w"), ignore_errors=True)
        system.write("w", table, mode="overwrite")

    out["write"] = median_ms(write_once, min(runs, 3))
    out["scan"] = median_ms(lambda: system.scan("w"), runs)
    files = system.files("w")
    if files:
        import duckdb

        listed = ", ".join(f"'{f}'" for f in files)
        out["duckdb_scan"] = median_ms(lambda: duckdb.sql(f"SELECT sum(b), count(*) FROM read_parquet([{listed}])").fetchall(), runs)
    # RESTORE of the big table to its first version, and of a one-row table.
    for label, t, content in [("restore_big", "w", None), ("restore_small", "r1", pa.Table.from_batches([data[0].slice(0, 1)]))]:
        if content is not None:
            system.write(t, content, mode="overwrite")
        system.write(t, pa.Table.from_batches([data[0].slice(0, 1)]), mode="overwrite")
        first = 0 if system.name == "delta-rs" else 1
        out[label] = median_ms(lambda: system.restore(t, first), runs)
    # Appends: one row each; the commit time at the end, opening and history at 10 and at N.
    one = pa.Table.from_batches([data[0].slice(0, 1)])
    shutil.rmtree(system.path("h"), ignore_errors=True)
    system.write("h", one, mode="append")
    for _ in range(9):
        system.write("h", one)
    out["open_10"] = median_ms(lambda: system.open("h"), runs)
    times = []
    for i in range(appends - 10):
        start = time.perf_counter()
        system.write("h", one)
        if i >= appends - 10 - 100:
            times.append((time.perf_counter() - start) * 1000)
    out["append"] = statistics.median(times)
    out["append_max"] = max(times)
    out["open_n"] = median_ms(lambda: system.open("h"), runs)
    out["history_n"] = median_ms(lambda: system.history("h"), runs)
    out["metadata_per_version"] = system.metadata_bytes("h") / appends
    if system.name == "delta-rs" and os.environ.get("TIMEMACHINE_S3_BUCKET"):
        out["s3_commits_per_s"] = delta_s3_rate()
    return out


def delta_s3_rate():
    """Commits per second of 4 writers appending 25 one-row versions each on the S3 server of
    .ci/with_s3.sh (moto), with conditional puts as delta-rs offers them."""
    import threading
    import uuid

    import deltalake
    import pyarrow as pa

    uri = f"s3://{os.environ['TIMEMACHINE_S3_BUCKET']}/delta-{uuid.uuid4().hex}"
    opts = {
        "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT"],
        "AWS_ALLOW_HTTP": "true",
        "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
        "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
        "conditional_put": "etag",
    }
    deltalake.write_deltalake(uri, pa.table({"w": [0], "i": [0]}), storage_options=opts)

    def writer(w):
        for i in range(25):
            for attempt in range(50):
                try:
                    deltalake.write_deltalake(uri, pa.table({"w": [w], "i": [i]}), mode="append", storage_options=opts)
                    break
                except Exception:
                    if attempt == 49:
                        raise

    start = time.perf_counter()
    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return 100 / (time.perf_counter() - start)


def ours(rows, appends, runs, features):
    cmd = ["cargo", "bench", *(["--features", features] if features else []), "--bench", "timemachine", "--", "--only", "peers",
           "--peer-rows", str(rows), "--peer-appends", str(appends), "--runs", str(runs)]
    # Build where CI builds (outside the repository), unless told otherwise.
    env = {**os.environ, "CARGO_TARGET_DIR": os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/tm-target"))}
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    figures = {}
    for line in out.splitlines():
        if line.startswith("PEER "):
            _, key, value = line.split()
            figures[key] = float(value)
    return figures


ROWS = [
    ("write {rows} rows (same Arrow batches), ms", "write"),
    ("sum(b), count(*) over them, ms", "scan"),
    ("  DuckDB on the same files, ms", "duckdb_scan"),
    ("RESTORE of the {rows}-row table, ms", "restore_big"),
    ("RESTORE of a 1-row table, ms", "restore_small"),
    ("one-row append commit at {appends} versions, ms (median of last 100)", "append"),
    ("  slowest of those 100, ms", "append_max"),
    ("open at 10 versions, ms", "open_10"),
    ("open at {appends} versions, ms", "open_n"),
    ("full history at {appends} versions, ms", "history_n"),
    ("metadata bytes per version at {appends}", "metadata_per_version"),
    ("S3 (moto): commits/s, 4 writers appending (under .ci/with_s3.sh)", "s3_commits_per_s"),
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=20_000_000)
    p.add_argument("--appends", type=int, default=3000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--skip-ours", action="store_true")
    p.add_argument("--features", default="", help="cargo features of our build (ballista reuses CI's build)")
    a = p.parse_args()
    ensure_venv()
    columns = {}
    if not a.skip_ours:
        columns["this project"] = ours(a.rows, a.appends, a.runs, a.features)
    for cls in (Delta, Lance):
        with tempfile.TemporaryDirectory() as d:
            columns[cls.name] = peer_figures(cls(d), a.rows, a.appends, a.runs)
    names = list(columns)
    print(f"| work | {' | '.join(names)} |")
    print("|---|" + "---|" * len(names))
    for label, key in ROWS:
        cells = []
        for n in names:
            v = columns[n].get(key)
            cells.append("" if v is None else (f"{v:,.0f}" if v >= 100 else f"{v:.2f}"))
        print(f"| {label.format(rows=f'{a.rows:,}', appends=f'{a.appends:,}')} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
