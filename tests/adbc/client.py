"""A real Flight SQL client no one here wrote: the ADBC Flight SQL driver (adbc-driver-flightsql),
through its DB-API, against a running `timemachine serve`. Runs the reference transcript's core,
reads the past, fetches 1M rows, and checks that a wrong password and a missing privilege are
refused. Usage: client.py URI USER PASSWORD OTHER_USER OTHER_PASSWORD"""

import sys

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager

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

# The past in FROM.
assert rows("SELECT a FROM test_restore_x VERSION AS OF 3") == [("1",)]

# A million rows, as Arrow.
cur.execute("SELECT value FROM generate_series(1, 1000000)")
table = cur.fetch_arrow_table()
assert table.num_rows == 1_000_000, table.num_rows

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
assert rows("select * from test_restore_x;") == [("2",)]
print("adbc client: ok")
