//! `timemachine serve` driven by arrow-flight's own Flight SQL client: logins, every privilege's
//! allowed and denied pair, statements and time travel, prepared statements, streaming,
//! cancellation, concurrent writers and the catalog calls BI tools make.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arrow_flight::sql::client::FlightSqlServiceClient;
use arrow_flight::sql::{CommandGetDbSchemas, CommandGetTables, SqlInfo};
use arrow_flight::{FlightInfo, Ticket};
use datafusion::arrow::array::StringArray;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion_timemachine::TimeMachine;
use datafusion_timemachine::server::{ServeOptions, Server};
use futures::TryStreamExt;
use tonic::transport::Channel;

use crate::run;

type Client = FlightSqlServiceClient<Channel>;

/// How the client prints gRPC's UNAUTHENTICATED and PERMISSION_DENIED codes.
const UNAUTHENTICATED: &str = "does not have valid authentication credentials";
const DENIED: &str = "does not have permission";

/// A warehouse whose project has an owner and two users with passwords, served in process.
async fn serve(dir: &Path, options: ServeOptions) -> (Server, TimeMachine) {
    let owner = TimeMachine::builder().location(dir.to_str().unwrap()).user("owner").build().await.unwrap();
    run(
        &owner,
        &[
            "ADD USER alice IDENTIFIED BY 'alice-pw'",
            "ADD USER bob IDENTIFIED BY 'bob-pw'",
            "ADD USER carol",
            "ALTER USER owner IDENTIFIED BY 'owner-pw'",
            "GRANT CreateTable ON PROJECT default TO USER alice",
        ],
    )
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = Server::start(Arc::clone(owner.project()), options, listener).unwrap();
    (server, owner)
}

pub(crate) async fn connect(server: &Server) -> Client {
    let channel = Channel::from_shared(format!("http://{}", server.addr())).unwrap().connect().await.unwrap();
    FlightSqlServiceClient::new(channel)
}

async fn login(server: &Server, user: &str, password: &str) -> Client {
    let mut client = connect(server).await;
    client.handshake(user, password).await.unwrap_or_else(|e| panic!("{user} cannot log in: {e}"));
    client
}

/// Every batch of every endpoint of `info`.
async fn fetch(client: &mut Client, info: FlightInfo) -> Result<Vec<RecordBatch>, String> {
    let mut out = vec![];
    for endpoint in info.endpoint {
        let ticket: Ticket = endpoint.ticket.ok_or("no ticket")?;
        let stream = client.do_get(ticket).await.map_err(|e| e.to_string())?;
        out.extend(stream.try_collect::<Vec<_>>().await.map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// Runs `sql` as a query and returns its rows as `|`-joined strings, sorted.
pub(crate) async fn query(client: &mut Client, sql: &str) -> Result<Vec<String>, String> {
    let info = client.execute(sql.to_string(), None).await.map_err(|e| e.to_string())?;
    Ok(lines(&fetch(client, info).await?))
}

fn lines(batches: &[RecordBatch]) -> Vec<String> {
    let text = datafusion::arrow::util::pretty::pretty_format_batches(batches).unwrap().to_string();
    let mut out: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("| "))
        .skip(1)
        .map(|l| l.trim_matches('|').split('|').map(str::trim).collect::<Vec<_>>().join("|"))
        .collect();
    out.sort();
    out
}

async fn update(client: &mut Client, sql: &str) -> Result<i64, String> {
    client.execute_update(sql.to_string(), None).await.map_err(|e| e.to_string())
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::prelude::BASE64_STANDARD.encode(text)
}

/// Every file of the warehouse with its bytes: a denied statement must leave it identical.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.ends_with("_clock") {
                out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn logins_need_a_password_and_every_call_a_valid_token() {
    let dir = tempfile::tempdir().unwrap();
    let options = ServeOptions { idle_timeout: Duration::from_secs(2), ..Default::default() };
    let (server, _owner) = serve(dir.path(), options).await;
    // No credentials, a wrong password, an unknown user, a user without a password.
    let mut anonymous = connect(&server).await;
    let err = query(&mut anonymous, "SELECT 1").await.unwrap_err();
    assert!(err.contains(UNAUTHENTICATED) && err.contains("no credentials"), "{err}");
    for (user, password) in [("alice", "wrong"), ("mallory", "alice-pw"), ("carol", ""), ("carol", "x")] {
        let err = connect(&server).await.handshake(user, password).await.unwrap_err().to_string();
        assert!(err.contains(UNAUTHENTICATED), "{user}: {err}");
    }
    // A forged token.
    let mut forged = connect(&server).await;
    forged.set_token("0".repeat(64));
    let err = query(&mut forged, "SELECT 1").await.unwrap_err();
    assert!(err.contains(UNAUTHENTICATED) && err.contains("unknown session token"), "{err}");
    // Basic credentials on an ordinary call (instead of the handshake) run nothing.
    let mut basic = connect(&server).await;
    basic.set_header("authorization", format!("Basic {}", base64_of("alice:alice-pw")));
    let err = query(&mut basic, "SELECT 1").await.unwrap_err();
    assert!(err.contains(UNAUTHENTICATED) && err.contains("handshake"), "{err}");
    // The right password gives a token that works, until it has been idle too long.
    let mut alice = login(&server, "ALICE", "alice-pw").await;
    assert_eq!(query(&mut alice, "SELECT 1 AS one").await.unwrap(), vec!["1"]);
    // A ticket belongs to the session that planned it: another user cannot fetch it.
    let info = alice.execute("SELECT 42".to_string(), None).await.unwrap();
    let mut bob = login(&server, "bob", "bob-pw").await;
    let err = fetch(&mut bob, info.clone()).await.unwrap_err();
    assert!(err.contains("no such statement"), "{err}");
    assert_eq!(lines(&fetch(&mut alice, info).await.unwrap()), vec!["42"]);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let err = query(&mut alice, "SELECT 1").await.unwrap_err();
    assert!(err.contains(UNAUTHENTICATED) && err.contains("expired"), "{err}");
    // A changed password: the old one no longer logs in.
    let mut again = login(&server, "alice", "alice-pw").await;
    update(&mut again, "ALTER USER alice IDENTIFIED BY 'new-pw'").await.unwrap();
    assert!(connect(&server).await.handshake("alice", "alice-pw").await.is_err());
    login(&server, "alice", "new-pw").await;
    server.shutdown().await;
}

#[tokio::test]
async fn passwords_are_stored_only_as_salted_hashes_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let (server, owner) = serve(dir.path(), ServeOptions::default()).await;
    let everything: Vec<u8> = snapshot(dir.path()).into_iter().flat_map(|(_, b)| b).collect();
    let text = String::from_utf8_lossy(&everything);
    assert!(!text.contains("alice-pw") && !text.contains("owner-pw"), "a password is stored in clear");
    assert!(text.contains("$argon2id$"), "no argon2id hash stored");
    let mut o = login(&server, "owner", "owner-pw").await;
    for sql in ["SHOW GRANTS", "SETPROJECT", "SELECT * FROM timemachine_history('x')"] {
        let shown = query(&mut o, sql).await.unwrap_or_else(|e| vec![e]).join("\n");
        assert!(!shown.contains("argon2") && !shown.contains("alice-pw"), "{sql}: {shown}");
    }
    // The log records the statements with the password masked.
    assert!(text.contains("IDENTIFIED BY '********'"), "statement text not masked");
    drop(owner);
    server.shutdown().await;
}

#[tokio::test]
async fn a_project_without_users_refuses_logins_unless_served_anonymously() {
    let dir = tempfile::tempdir().unwrap();
    let tm = TimeMachine::open(dir.path().to_str().unwrap()).await.unwrap();
    run(&tm, &["CREATE TABLE t (v BIGINT)", "INSERT INTO t VALUES (1)"]).await;
    for anonymous in [false, true] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let options = ServeOptions { allow_anonymous: anonymous, ..Default::default() };
        let server = Server::start(Arc::clone(tm.project()), options, listener).unwrap();
        let err = connect(&server).await.handshake("anyone", "x").await.unwrap_err().to_string();
        assert!(err.contains("has no users"), "{err}");
        let got = query(&mut connect(&server).await, "SELECT v FROM t").await;
        if anonymous {
            assert_eq!(got.unwrap(), vec!["1"]);
        } else {
            assert!(got.unwrap_err().contains(UNAUTHENTICATED));
        }
        server.shutdown().await;
    }
}

#[tokio::test]
async fn each_privilege_allows_its_statements_and_a_denial_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _owner) = serve(dir.path(), ServeOptions::default()).await;
    let mut alice = login(&server, "alice", "alice-pw").await;
    let mut bob = login(&server, "bob", "bob-pw").await;
    // Alice may create tables, and holds All on what she creates.
    for sql in [
        "CREATE TABLE t (v BIGINT) PARTITIONED BY (ds STRING)",
        "INSERT INTO t PARTITION (ds='1') VALUES (1), (2)",
        "INSERT INTO t PARTITION (ds='2') VALUES (3)",
    ] {
        update(&mut alice, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    // History records who committed each version.
    let who = query(&mut alice, "SELECT DISTINCT user FROM timemachine_history('t')").await.unwrap();
    assert_eq!(who, vec!["alice"]);
    let err = update(&mut bob, "CREATE TABLE b (v BIGINT)").await.unwrap_err();
    assert!(err.contains(DENIED) && err.contains("user bob lacks the CreateTable permission"), "{err}");
    // Each pair: denied to bob, then allowed once granted.
    let mut owner = login(&server, "owner", "owner-pw").await;
    let cases: &[(&str, &str)] = &[
        ("Select", "SELECT sum(v) FROM t"),
        ("Select", "SELECT v FROM t VERSION AS OF 2 WHERE ds = '1'"),
        ("Select", "SELECT count(*) FROM (SELECT * FROM t) x WHERE v IN (SELECT v FROM t)"),
        ("Describe", "DESC t"),
        ("Describe", "LIST PARTITIONS t"),
        ("ShowHistory", "SHOW HISTORY FOR TABLE t"),
        ("ShowHistory", "SELECT count(*) FROM timemachine_history('t')"),
        ("Update", "INSERT INTO t PARTITION (ds='3') VALUES (4)"),
        ("Update", "DELETE FROM t WHERE v = 4"),
        ("Update", "UPDATE t SET v = v + 10 WHERE v = 3"),
        ("Update", "MERGE INTO t USING (SELECT 1 AS v) s ON t.v = s.v WHEN MATCHED THEN DELETE"),
        ("Update", "RESTORE TABLE t TO LSN '3'"),
        ("Update", "TRUNCATE TABLE t PARTITION (ds='2')"),
        ("Alter", "ALTER TABLE t SET LIFECYCLE 30"),
        ("Alter", "ALTER TABLE t DROP PARTITION (ds='2')"),
        ("Drop", "DROP TABLE t"),
    ];
    for (privilege, sql) in cases {
        let before = snapshot(dir.path());
        let err = query(&mut bob, sql).await.unwrap_err();
        assert!(
            err.contains(DENIED)
                && err.contains(&format!("user bob lacks the {privilege} permission"))
                && err.contains(" t"),
            "{sql}: {err}"
        );
        assert!(before == snapshot(dir.path()), "{sql}: a denied statement changed the warehouse");
        update(&mut alice, &format!("GRANT {privilege} ON TABLE t TO USER bob")).await.unwrap_err();
        update(&mut owner, &format!("GRANT {privilege} ON TABLE t TO USER bob")).await.unwrap();
        query(&mut bob, sql).await.unwrap_or_else(|e| panic!("{sql} after GRANT {privilege}: {e}"));
        if *privilege == "Drop" {
            break;
        }
        update(&mut owner, &format!("REVOKE {privilege} ON TABLE t FROM USER bob")).await.unwrap();
        assert!(query(&mut bob, sql).await.unwrap_err().contains(DENIED), "{sql} after REVOKE");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn restore_as_a_new_table_needs_select_and_create_table() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _owner) = serve(dir.path(), ServeOptions::default()).await;
    let mut alice = login(&server, "alice", "alice-pw").await;
    let mut bob = login(&server, "bob", "bob-pw").await;
    let mut owner = login(&server, "owner", "owner-pw").await;
    update(&mut alice, "CREATE TABLE t (v BIGINT)").await.unwrap();
    update(&mut alice, "INSERT INTO t VALUES (1)").await.unwrap();
    let err = update(&mut bob, "RESTORE TABLE t TO LSN '2' AS u").await.unwrap_err();
    assert!(err.contains("lacks the Select permission"), "{err}");
    update(&mut owner, "GRANT Select ON TABLE t TO USER bob").await.unwrap();
    let err = update(&mut bob, "RESTORE TABLE t TO LSN '2' AS u").await.unwrap_err();
    assert!(err.contains("lacks the CreateTable permission"), "{err}");
    update(&mut owner, "GRANT CreateTable ON PROJECT default TO USER bob").await.unwrap();
    update(&mut bob, "RESTORE TABLE t TO LSN '2' AS u").await.unwrap();
    // Its creator holds All on the new table; SHOW GRANTS says so by name.
    assert_eq!(query(&mut bob, "SELECT v FROM u").await.unwrap(), vec!["1"]);
    let grants = query(&mut owner, "SHOW GRANTS FOR bob").await.unwrap().join("\n");
    assert!(grants.contains("All ON TABLE u") && grants.contains("Select ON TABLE t"), "{grants}");
    server.shutdown().await;
}

#[tokio::test]
async fn statements_time_travel_and_prepared_statements_through_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _owner) = serve(dir.path(), ServeOptions::default()).await;
    let mut c = login(&server, "owner", "owner-pw").await;
    // DDL and writes through both commands.
    query(&mut c, "CREATE TABLE t (a STRING) PARTITIONED BY (ds STRING)").await.unwrap();
    assert_eq!(update(&mut c, r#"INSERT OVERWRITE TABLE t PARTITION (ds="1") VALUES ("x"), ("y")"#).await.unwrap(), 2);
    assert_eq!(query(&mut c, r#"INSERT OVERWRITE TABLE t PARTITION (ds="1") VALUES ("z")"#).await.unwrap(), vec!["1"]);
    assert_eq!(query(&mut c, "SELECT a FROM t VERSION AS OF 2").await.unwrap(), vec!["x", "y"]);
    // Text is read as Utf8View in the server, sent as Utf8 (clients on older Arrow libraries
    // cannot decode views): in the announced schema, the prepared schema and the rows.
    let info = c.execute("SELECT a, ds FROM t".to_string(), None).await.unwrap();
    let announced = info.clone().try_decode_schema().unwrap();
    assert_eq!(announced.field(0).data_type(), &datafusion::arrow::datatypes::DataType::Utf8);
    let rows = fetch(&mut c, info).await.unwrap();
    assert_eq!(rows[0].schema().field(0).data_type(), &datafusion::arrow::datatypes::DataType::Utf8);
    let typed = c.prepare("SELECT a FROM t".to_string(), None).await.unwrap();
    assert_eq!(typed.dataset_schema().unwrap().field(0).data_type(), &datafusion::arrow::datatypes::DataType::Utf8);
    typed.close().await.unwrap();
    let history = query(&mut c, "SHOW HISTORY FOR TABLE t").await.unwrap();
    assert!(history.len() >= 3 && history.iter().any(|l| l.contains("0000000000000003")), "{history:?}");
    update(&mut c, "RESTORE TABLE t TO LSN '0000000000000002'").await.unwrap();
    assert_eq!(query(&mut c, "SELECT a FROM t").await.unwrap(), vec!["x", "y"]);
    assert_eq!(update(&mut c, "UPDATE t SET a = 'w' WHERE a = 'x'").await.unwrap(), 1);
    assert_eq!(update(&mut c, "DELETE FROM t WHERE a = 'y'").await.unwrap(), 1);
    query(&mut c, "SETPROJECT odps.timemachine.retention.days=2").await.unwrap();
    // Session settings belong to the session.
    query(&mut c, "SET datafusion.execution.batch_size = 7").await.unwrap();
    let mut other = login(&server, "owner", "owner-pw").await;
    let setting = "SELECT value FROM information_schema.df_settings WHERE name = 'datafusion.execution.batch_size'";
    assert_eq!(query(&mut c, setting).await.unwrap(), vec!["7"]);
    assert_ne!(query(&mut other, setting).await.unwrap(), vec!["7"]);
    // Prepared statements: a query, and an INSERT that runs at each execution only.
    let mut select = c.prepare("SELECT count(*) AS n FROM t".to_string(), None).await.unwrap();
    assert_eq!(select.dataset_schema().unwrap().field(0).name(), "n");
    let mut insert = c.prepare("INSERT INTO t PARTITION (ds='2') VALUES ('p')".to_string(), None).await.unwrap();
    assert_eq!(query(&mut c, "SELECT count(*) FROM t").await.unwrap(), vec!["1"]);
    assert_eq!(insert.execute_update().await.unwrap(), 1);
    assert_eq!(insert.execute_update().await.unwrap(), 1);
    let info = select.execute().await.unwrap();
    assert_eq!(lines(&fetch(&mut c, info).await.unwrap()), vec!["3"]);
    select.close().await.unwrap();
    // Parameters: an update runs once per bound row (sent with it), a query with its one row.
    let mut insert = c.prepare("INSERT INTO t PARTITION (ds='3') VALUES (?)".to_string(), None).await.unwrap();
    let values = StringArray::from(vec!["q'); DROP TABLE t; --", "r"]);
    insert.set_parameters(RecordBatch::try_from_iter([("a", Arc::new(values) as _)]).unwrap()).unwrap();
    assert_eq!(insert.execute_update().await.unwrap(), 2);
    let mut select = c.prepare("SELECT count(*) FROM t WHERE ds = ? OR a = $2".to_string(), None).await.unwrap();
    let types: Vec<_> = select.parameter_schema().unwrap().fields().iter().map(|f| f.data_type().clone()).collect();
    assert_eq!(types, vec![datafusion::arrow::datatypes::DataType::Utf8; 2]);
    let bound =
        [("p1", Arc::new(StringArray::from(vec!["3"])) as _), ("p2", Arc::new(StringArray::from(vec!["w"])) as _)];
    select.set_parameters(RecordBatch::try_from_iter(bound).unwrap()).unwrap();
    let info = select.execute().await.unwrap();
    assert_eq!(lines(&fetch(&mut c, info).await.unwrap()), vec!["3"]);
    select.close().await.unwrap();
    // A client cannot reach the server's own files.
    let secret = dir.path().join("server-file.csv");
    std::fs::write(&secret, "a\nsecret\n").unwrap();
    let sql = format!("CREATE EXTERNAL TABLE leak STORED AS CSV LOCATION '{}'", secret.display());
    let err = query(&mut c, &sql).await.unwrap_err();
    assert!(err.contains(DENIED) && err.contains("CREATE EXTERNAL TABLE"), "{err}");
    let out = dir.path().join("written.csv");
    let err = query(&mut c, &format!("COPY (SELECT 1) TO '{}' STORED AS CSV", out.display())).await.unwrap_err();
    assert!(err.contains(DENIED) && !out.exists(), "{err}");
    let err = query(&mut c, &format!("EXPLAIN ANALYZE COPY (SELECT 1) TO '{}' STORED AS CSV", out.display()))
        .await
        .unwrap_err();
    assert!(err.contains(DENIED) && !out.exists(), "{err}");
    // Files by name (`FROM 'file.csv'`, which the CLI allows the warehouse's holder) are no table.
    let err = query(&mut c, &format!("SELECT * FROM '{}'", secret.display())).await.unwrap_err();
    assert!(!err.contains("secret") && err.contains("not found"), "{err}");
    // Errors keep their meaning.
    let err = query(&mut c, "SELECT * FROM nope").await.unwrap_err();
    assert!(err.contains("nope"), "{err}");
    let err = query(&mut c, "RESTORE TABLE t TO LSN '99'").await.unwrap_err();
    assert!(!err.contains(UNAUTHENTICATED), "{err}");
    server.shutdown().await;
}

#[tokio::test]
async fn results_stream_and_a_cancelled_statement_stops() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _owner) = serve(dir.path(), ServeOptions::default()).await;
    let mut c = login(&server, "owner", "owner-pw").await;
    let info = c.execute("SELECT value FROM generate_series(1, 300000)".to_string(), None).await.unwrap();
    let ticket = info.endpoint[0].ticket.clone().unwrap();
    let batches: Vec<RecordBatch> = c.do_get(ticket).await.unwrap().try_collect().await.unwrap();
    assert!(batches.len() > 1, "one batch: the result was not streamed");
    assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 300_000);
    // A long statement cancelled while it streams ends early.
    let info = c
        .execute("SELECT a.value FROM generate_series(1, 100000) a, generate_series(1, 100000) b".to_string(), None)
        .await
        .unwrap();
    let mut stream = c.do_get(info.endpoint[0].ticket.clone().unwrap()).await.unwrap();
    stream.try_next().await.unwrap().expect("a first batch");
    let cancel = arrow_flight::CancelFlightInfoRequest::new(info);
    let action = arrow_flight::Action::new("CancelFlightInfo", prost::Message::encode_to_vec(&cancel));
    let results: Vec<_> = c.do_action(action).await.unwrap().try_collect().await.unwrap();
    let result: arrow_flight::CancelFlightInfoResult = prost::Message::decode(results[0].body.clone()).unwrap();
    assert_eq!(result.status, arrow_flight::CancelStatus::Cancelled as i32);
    let rest = tokio::time::timeout(Duration::from_secs(20), async {
        let mut rows = 0usize;
        while let Ok(Some(b)) = stream.try_next().await {
            rows += b.num_rows();
        }
        rows
    })
    .await
    .expect("the cancelled stream ended");
    assert!(rest < 1_000_000_000, "{rest}");
    server.shutdown().await;
}

#[tokio::test]
async fn eight_clients_appending_at_once_lose_nothing_and_leave_lsns_gapless() {
    let dir = tempfile::tempdir().unwrap();
    let (server, owner) = serve(dir.path(), ServeOptions::default()).await;
    run(&owner, &["CREATE TABLE c (w BIGINT, i BIGINT)"]).await;
    let mut tasks = vec![];
    for w in 0..8 {
        let mut client = login(&server, "owner", "owner-pw").await;
        tasks.push(tokio::spawn(async move {
            for i in 0..5 {
                update(&mut client, &format!("INSERT INTO c VALUES ({w}, {i})")).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut c = login(&server, "owner", "owner-pw").await;
    assert_eq!(query(&mut c, "SELECT count(DISTINCT w * 10 + i) FROM c").await.unwrap(), vec!["40"]);
    let lsns = query(&mut c, "SELECT lsn_number FROM timemachine_history('c')").await.unwrap();
    let mut lsns: Vec<u64> = lsns.iter().map(|l| l.parse().unwrap()).collect();
    lsns.sort();
    assert_eq!(lsns, (1..=41).collect::<Vec<_>>());
    server.shutdown().await;
}

#[tokio::test]
async fn catalog_calls_that_bi_tools_make() {
    let dir = tempfile::tempdir().unwrap();
    let (server, owner) = serve(dir.path(), ServeOptions::default()).await;
    run(&owner, &["CREATE TABLE sales (id BIGINT, amount DOUBLE, note STRING) PARTITIONED BY (ds STRING)"]).await;
    let mut c = login(&server, "owner", "owner-pw").await;
    let info = c.get_catalogs().await.unwrap();
    assert!(lines(&fetch(&mut c, info).await.unwrap()).contains(&"datafusion".to_string()));
    let info = c.get_db_schemas(CommandGetDbSchemas { catalog: None, db_schema_filter_pattern: None }).await.unwrap();
    let schemas = lines(&fetch(&mut c, info).await.unwrap());
    assert!(schemas.iter().any(|s| s.ends_with("|default")), "{schemas:?}");
    let request = CommandGetTables {
        catalog: None,
        db_schema_filter_pattern: Some("default".into()),
        table_name_filter_pattern: Some("sal%".into()),
        table_types: vec![],
        include_schema: true,
    };
    let info = c.get_tables(request).await.unwrap();
    let batches = fetch(&mut c, info).await.unwrap();
    assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 1);
    let schema_bytes = datafusion::arrow::array::AsArray::as_binary::<i32>(batches[0].column(4)).value(0).to_vec();
    let schema = datafusion::arrow::ipc::convert::try_schema_from_ipc_buffer(&schema_bytes).unwrap();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, vec!["id", "amount", "note", "ds"]);
    // Text as the rows are sent: Utf8, which every client decodes (not the scan's Utf8View).
    assert_eq!(schema.field(2).data_type(), &datafusion::arrow::datatypes::DataType::Utf8);
    let info = c.get_table_types().await.unwrap();
    assert_eq!(lines(&fetch(&mut c, info).await.unwrap()), vec!["TABLE", "VIEW"]);
    let info = c.get_sql_info(vec![SqlInfo::FlightSqlServerName]).await.unwrap();
    assert!(!fetch(&mut c, info).await.unwrap().is_empty());
    let request = arrow_flight::sql::CommandGetPrimaryKeys { catalog: None, db_schema: None, table: "sales".into() };
    let info = c.get_primary_keys(request).await.unwrap();
    assert_eq!(fetch(&mut c, info).await.unwrap().iter().map(RecordBatch::num_rows).sum::<usize>(), 0);
    let info = c.get_xdbc_type_info(arrow_flight::sql::CommandGetXdbcTypeInfo { data_type: None }).await.unwrap();
    fetch(&mut c, info).await.unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn tls_keeps_passwords_off_the_wire_and_plain_text_gets_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: no openssl to make a certificate");
        return;
    }
    let tls = Some((std::fs::read(&cert).unwrap(), std::fs::read(&key).unwrap()));
    let (server, _owner) = serve(&dir.path().join("wh"), ServeOptions { tls, ..Default::default() }).await;
    let client_tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(std::fs::read(&cert).unwrap()))
        .domain_name("localhost");
    let channel = Channel::from_shared(format!("https://{}", server.addr()))
        .unwrap()
        .tls_config(client_tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut c = FlightSqlServiceClient::new(channel);
    c.handshake("owner", "owner-pw").await.unwrap();
    assert_eq!(query(&mut c, "SELECT 1 AS one").await.unwrap(), vec!["1"]);
    // A client without TLS does not even get to the handshake.
    let plain = Channel::from_shared(format!("http://{}", server.addr())).unwrap().connect().await;
    if let Ok(channel) = plain {
        assert!(FlightSqlServiceClient::new(channel).handshake("owner", "owner-pw").await.is_err());
    }
    server.shutdown().await;
}
