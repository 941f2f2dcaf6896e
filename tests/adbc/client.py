"""A real Flight SQL client no one here wrote: the ADBC Flight SQL driver (adbc-driver-flightsql),
through its DB-API, against a running `timemachine serve`. Runs the reference transcript's core,
reads the past, fetches 1M rows, binds parameters, ingests Arrow tables, and checks that a wrong
password and a missing privilege are refused. Usage: client.py URI USER PASSWORD OTHER_USER
OTHER_PASSWORD"""

import sys

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import pyarrow as pa

uri, user, password, other, other_password = sys.argv[1:6]


def connect(name, secret):
    return flight_sql.connect(uri, db_kwargs={"username": name, "password": secret}, autocommit=True)


conn = connect(user, password)
cur = conn.cursor()


def rows(sql):
    cur.execute(sql)
    return cur.fetchall()


# The reference transcript (MaxCompute's backup and restore), statement by statement.
rows("Create Table test_restore_x(a string);")
for v in "0123":
    rows(f'INSERT OVERWRITE TABLE test_restore_x values("{v}");')
history = rows("show history for table test_restore_x;")
assert [r[3] for r in history] == [f"{i:016d}" for i in range(1, 6)], history
assert [r[5] for r in history] == ["CREATE"] + ["OVERWRITE"] * 4, history
table_id = history[0][1]
rows("drop table test_restore_x;")
assert len(rows(f"show history for table test_restore_x('id'='{table_id}');")) == 6
rows(f"restore table test_restore_x('id'='{table_id}');")
rows("restore table test_restore_x to LSN '0000000000000004';")
assert rows("select * from test_restore_x;") == [("2",)]
rows("restore table test_restore_x to LSN '0000000000000005' as test_restore_x_v5;")
assert rows("select * from test_restore_x_v5;") == [("3",)]
rows("Create Table test_restore_part_x(a string) PARTITIONED BY(ds string);")
rows('INSERT OVERWRITE TABLE test_restore_part_x partition(ds="20191201") values ("1");')
rows('INSERT OVERWRITE TABLE test_restore_part_x partition(ds="20191202") values ("2");')
assert rows("list partitions test_restore_part_x;") == [("ds=20191201",), ("ds=20191202",)]

# The past in FROM (the version a parameter too).
assert rows("SELECT a FROM test_restore_x VERSION AS OF 3") == [("1",)]
cur.execute("SELECT a FROM test_restore_x VERSION AS OF ?", (4,))
assert cur.fetchall() == [("2",)]

# A million rows, as Arrow.
cur.execute("SELECT value FROM generate_series(1, 1000000)")
table = cur.fetch_arrow_table()
assert table.num_rows == 1_000_000, table.num_rows

# Parameters (DB-API's ?): bound as values, never as SQL.
rows("CREATE TABLE test_params (k BIGINT, s STRING)")
cur.executemany("INSERT INTO test_params VALUES (?, ?)", [(1, "one"), (2, "it's"), (-3, None)])
assert rows("SELECT k, s FROM test_params ORDER BY k") == [(-3, None), (1, "one"), (2, "it's")]
cur.execute("SELECT s FROM test_params WHERE k > ? AND s <> ? ORDER BY s", (-1, "x'); DROP TABLE test_params; --"))
assert cur.fetchall() == [("it's",), ("one",)]
cur.execute("SELECT ? + 1 AS n, ? AS t", (41, "'--"))
assert cur.fetchall() == [(42, "'--")]
# The batch was one INSERT (one version); an UPDATE runs once per row.
assert [r[5] for r in rows("show history for table test_params")] == ["CREATE", "APPEND"]
cur.executemany("UPDATE test_params SET s = ? WHERE k = ?", [("uno", 1), ("dos", 2)])
assert rows("SELECT s FROM test_params WHERE k > 0 ORDER BY k") == [("uno",), ("dos",)]
assert [r[5] for r in rows("show history for table test_params")][2:] == ["UPDATE", "UPDATE"]
try:
    cur.execute("SELECT ? + ?", (1,))
    raise SystemExit("a statement ran with a parameter missing")
except adbc_driver_manager.Error as e:
    assert "takes 2 parameters, 1 was bound" in str(e), e

# Bulk ingest (what pandas' and polars' ADBC writers call): each mode one version of its SQL.
batch = pa.table({"k": pa.array([10, 11], pa.int64()), "s": ["a", "b"]})
assert cur.adbc_ingest("test_ingest", batch, mode="create") == 2
assert cur.adbc_ingest("test_ingest", batch.select(["s", "k"]), mode="append") == 2
assert rows("SELECT sum(k), count(*) FROM test_ingest") == [(42, 4)]
assert cur.adbc_ingest("test_ingest", batch.select(["s", "k"]).slice(0, 1), mode="replace") == 1
assert rows("SELECT k, s FROM test_ingest") == [(10, "a")]
assert [r[5] for r in rows("show history for table test_ingest")] == ["CREATE", "APPEND", "OVERWRITE"]
cur.execute("restore table test_ingest to LSN ?", ("0000000000000002",))
cur.fetchall()
assert rows("SELECT count(*) FROM test_ingest") == [(4,)]
try:
    cur.adbc_ingest("test_ingest", batch, mode="create")
    raise SystemExit("ingest in create mode replaced an existing table")
except adbc_driver_manager.Error as e:
    assert "already exists" in str(e), e
try:
    cur.adbc_ingest("test_ingest", pa.table({"nope": pa.array([1], pa.int64())}), mode="append")
    raise SystemExit("rows of a column the table lacks were ingested")
except adbc_driver_manager.Error as e:
    assert "nope" in str(e), e
try:
    cur.adbc_ingest("test_ingest", batch.select(["k"]), mode="replace")
    raise SystemExit("a replace without every column of the table ran")
except adbc_driver_manager.Error as e:
    assert "needs its column s" in str(e), e
assert rows("SELECT count(*) FROM test_ingest") == [(4,)]
assert len(rows("show history for table test_ingest")) == 4  # CREATE, APPEND, OVERWRITE, RESTORE

# The catalog calls a BI tool makes.
objects = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
names = [t["table_name"] for c in objects for s in c["catalog_db_schemas"] or [] for t in s["db_schema_tables"] or []]
assert "test_restore_x" in names, names

# Refusals: a wrong password, and a user without the privilege (nothing changes).
try:
    connect(user, password + "-wrong").cursor().execute("SELECT 1")
    raise SystemExit("a wrong password was accepted")
except adbc_driver_manager.Error as e:
    assert "Unauthenticated" in str(e) or "UNAUTHENTICATED" in str(e) or "password" in str(e), e
other_cur = connect(other, other_password).cursor()
try:
    other_cur.execute("SELECT * FROM test_restore_x")
    other_cur.fetchall()
    raise SystemExit("a user without Select read the table")
except adbc_driver_manager.Error as e:
    assert f"user {other} lacks the Select permission" in str(e), e
try:
    other_cur.execute("DROP TABLE test_restore_x")
    other_cur.fetchall()
    raise SystemExit("a user without Drop dropped the table")
except adbc_driver_manager.Error as e:
    assert "lacks the Drop permission" in str(e), e
try:
    other_cur.adbc_ingest("test_ingest", batch, mode="append")
    raise SystemExit("a user without Update ingested rows")
except adbc_driver_manager.Error as e:
    assert f"user {other} lacks the Update permission" in str(e), e
try:
    other_cur.execute("SELECT k FROM test_params WHERE k = ?", (1,))
    other_cur.fetchall()
    raise SystemExit("a user without Select read the table through a parameter")
except adbc_driver_manager.Error as e:
    assert f"user {other} lacks the Select permission" in str(e), e
assert rows("select * from test_restore_x;") == [("2",)]
assert rows("SELECT count(*) FROM test_ingest") == [(4,)]
print("adbc client: ok")
