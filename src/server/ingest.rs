//! Flight SQL bulk ingest (`CommandStatementIngest`: ADBC's `adbc_ingest`, what pandas' and
//! polars' ADBC writers call): the client's Arrow batches become one statement of the caller's,
//! so privileges, versions and SHOW HISTORY are those of the SQL it stands for. Create makes
//! `CREATE TABLE t AS SELECT …` (one CREATE version), append `INSERT INTO t (columns) SELECT …`
//! (an APPEND), replace `INSERT OVERWRITE TABLE t SELECT …` (an OVERWRITE: the rows it replaces
//! stay restorable). The batches wait in a session-only table of the caller's while it runs.

use std::sync::Arc;

use arrow_flight::sql::server::PeekableFlightDataStream;
use arrow_flight::sql::{CommandStatementIngest, TableExistsOption as Exists, TableNotExistOption as Missing};
use datafusion::datasource::MemTable;
use tonic::Status;

use super::service::update;
use super::session::Session;

/// Ingests the batches of `data` into the table `cmd` names: the number of rows written.
pub(crate) async fn ingest(
    session: &Session,
    cmd: CommandStatementIngest,
    data: PeekableFlightDataStream,
) -> Result<i64, Status> {
    if cmd.transaction_id.is_some() {
        return Err(Status::unimplemented("not supported: transactions (each statement commits on its own)"));
    }
    if cmd.temporary {
        return Err(Status::unimplemented("not supported: temporary tables in bulk ingest"));
    }
    let project = session.tm.project().name().to_string();
    if let Some(schema) = cmd.schema.as_deref().filter(|s| !s.is_empty() && *s != project) {
        return Err(Status::invalid_argument(format!("schema {schema}: this server serves project {project}")));
    }
    let table = plain_name(&cmd.table)?;
    let options = cmd.table_definition_options.unwrap_or_default();
    let (missing, exists) = (options.if_not_exist(), options.if_exists());
    let (schema, batches) = super::params::batches(data).await?;
    let Some(schema) = schema else {
        return Err(Status::invalid_argument("bulk ingest sent no schema"));
    };
    let present = session.tm.project().state().live_table(&table).is_some();
    // A session-only table of the caller's, for this statement only.
    let source = format!("__ingest_{}", uuid::Uuid::new_v4().simple());
    let columns = schema.fields().iter().map(|f| quoted(f.name())).collect::<Vec<_>>().join(", ");
    let sql = match (present, missing, exists) {
        (false, Missing::Create, _) => format!("CREATE TABLE {table} AS SELECT {columns} FROM {source}"),
        (false, _, _) => {
            return Err(Status::not_found(format!("table {table} does not exist (ingest in a mode that creates it)")));
        }
        (true, _, Exists::Append) => format!("INSERT INTO {table} ({columns}) SELECT {columns} FROM {source}"),
        (true, _, Exists::Replace) => format!("INSERT OVERWRITE TABLE {table} SELECT {columns} FROM {source}"),
        (true, _, _) => {
            return Err(Status::already_exists(format!(
                "table {table} already exists (ingest in append or replace mode)"
            )));
        }
    };
    let rows = MemTable::try_new(schema, vec![batches]).map_err(|e| Status::invalid_argument(e.to_string()))?;
    let staged = session.tm.session_tables();
    staged.insert(source.clone(), Arc::new(rows));
    let written = update(session, &sql).await;
    // The batches go whatever happened.
    staged.remove(&source);
    written
}

/// `name` if it is a plain table name (letters, digits, `_`, not starting with a digit).
fn plain_name(name: &str) -> Result<String, Status> {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !plain {
        return Err(Status::invalid_argument(format!(
            "table name {name:?}: bulk ingest takes a plain name (letters, digits and _)"
        )));
    }
    Ok(name.to_lowercase())
}

/// `name` as a quoted identifier (backquotes: in MaxCompute's SQL "…" is a string).
fn quoted(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}
