//! Flight SQL bulk ingest (`CommandStatementIngest`: ADBC's `adbc_ingest`, what pandas' and
//! polars' ADBC writers call): the client's Arrow batches become one statement of the caller's,
//! so privileges, versions and SHOW HISTORY are those of the SQL it stands for. Create makes
//! `CREATE TABLE t AS SELECT …` (one CREATE version), append `INSERT INTO t (columns) SELECT …`
//! (an APPEND), replace `INSERT OVERWRITE TABLE t SELECT …` (an OVERWRITE: the rows it replaces
//! stay restorable). The batches reach the statement through a session-only table of the
//! caller's, read once as they arrive: an ingest of any size holds a few batches in memory.

use std::sync::{Arc, Mutex};

use arrow_flight::decode::{DecodedPayload, FlightDataDecoder};
use arrow_flight::error::FlightError;
use arrow_flight::sql::server::PeekableFlightDataStream;
use arrow_flight::sql::{CommandStatementIngest, TableExistsOption as Exists, TableNotExistOption as Missing};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use futures::TryStreamExt;
use tonic::Status;

use super::service::update;
use super::session::Session;
use crate::state::model::ColumnDef;

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
    let (schema, rows) = stream_of(data).await?;
    let current: Option<Vec<ColumnDef>> = session.tm.project().state().live_table(&table).map(|t| {
        let schema = &t.current.schema;
        schema.columns.iter().chain(&schema.partition_columns).cloned().collect()
    });
    let present = current.is_some();
    // A session-only table of the caller's, for this statement only.
    let source = format!("__ingest_{}", uuid::Uuid::new_v4().simple());
    let columns = schema.fields().iter().map(|f| quoted(f.name())).collect::<Vec<_>>().join(", ");
    let sql = match (present, missing, exists) {
        (false, Missing::Create, _) => format!("CREATE TABLE {table} AS SELECT {columns} FROM {source}"),
        (false, _, _) => {
            return Err(Status::not_found(format!("table {table} does not exist (ingest in a mode that creates it)")));
        }
        (true, _, Exists::Append) => format!("INSERT INTO {table} ({columns}) SELECT {columns} FROM {source}"),
        (true, _, Exists::Replace) => {
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            let by_name = in_table_order(&table, current.as_deref().unwrap_or_default(), &names)?;
            format!("INSERT OVERWRITE TABLE {table} SELECT {by_name} FROM {source}")
        }
        (true, _, _) => {
            return Err(Status::already_exists(format!(
                "table {table} already exists (ingest in append or replace mode)"
            )));
        }
    };
    let once = Arc::new(Once { schema: Arc::clone(&schema), rows: Mutex::new(Some(rows)) });
    let rows = StreamingTable::try_new(schema, vec![once]).map_err(|e| Status::internal(e.to_string()))?;
    let staged = session.tm.session_tables();
    staged.insert(source.clone(), Arc::new(rows));
    let written = update(session, &sql).await;
    // The batches go whatever happened.
    staged.remove(&source);
    written
}

/// The schema the client's first message gives, and its batches as they come (never all in
/// memory at once: the statement writes them as it reads them).
async fn stream_of(data: PeekableFlightDataStream) -> Result<(SchemaRef, SendableRecordBatchStream), Status> {
    let mut decoded = FlightDataDecoder::new(data.map_err(FlightError::from));
    let schema = loop {
        match decoded.try_next().await.map_err(malformed)?.map(|d| d.payload) {
            Some(DecodedPayload::Schema(schema)) => break schema,
            Some(DecodedPayload::None) => continue,
            Some(DecodedPayload::RecordBatch(_)) | None => {
                return Err(Status::invalid_argument("bulk ingest sent no schema before its rows"));
            }
        }
    };
    let batches = decoded.try_filter_map(|d| {
        std::future::ready(match d.payload {
            DecodedPayload::RecordBatch(batch) => Ok(Some(batch)),
            DecodedPayload::None => Ok(None),
            DecodedPayload::Schema(_) => Err(FlightError::protocol("a second schema in one bulk ingest")),
        })
    });
    let batches = batches.map_err(|e| DataFusionError::External(Box::new(malformed(e))));
    Ok((Arc::clone(&schema), Box::pin(RecordBatchStreamAdapter::new(schema, batches))))
}

fn malformed(e: FlightError) -> Status {
    Status::invalid_argument(format!("malformed Arrow data: {e}"))
}

/// The client's batches as a table that can be read once.
struct Once {
    schema: SchemaRef,
    rows: Mutex<Option<SendableRecordBatchStream>>,
}

impl std::fmt::Debug for Once {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ingested batches")
    }
}

impl PartitionStream for Once {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        match self.rows.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(rows) => rows,
            None => {
                let read = DataFusionError::Execution("the ingested batches were read already".into());
                Box::pin(RecordBatchStreamAdapter::new(
                    Arc::clone(&self.schema),
                    futures::stream::once(async { Err(read) }),
                ))
            }
        }
    }
}

/// The batches' columns `names` in the order of the table's `columns` (INSERT OVERWRITE takes
/// them by position): each of the table's columns once, and no other.
fn in_table_order(table: &str, columns: &[ColumnDef], names: &[&str]) -> Result<String, Status> {
    if let Some(extra) = names.iter().find(|n| !columns.iter().any(|c| c.name.eq_ignore_ascii_case(n))) {
        return Err(Status::invalid_argument(format!("table {table} has no column {extra}")));
    }
    let find = |c: &ColumnDef| names.iter().find(|n| c.name.eq_ignore_ascii_case(n));
    let ordered = columns.iter().map(|c| {
        find(c).map(|n| quoted(n)).ok_or_else(|| {
            Status::invalid_argument(format!("replacing the rows of {table} needs its column {}", c.name))
        })
    });
    Ok(ordered.collect::<Result<Vec<_>, _>>()?.join(", "))
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
