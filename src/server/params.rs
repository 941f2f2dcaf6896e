//! Parameters of prepared statements on the wire: the rows a client binds (Arrow batches in a
//! DoPut, one column per parameter), the parameter schema announced when a statement is
//! prepared, and the statements they make. A query runs with one row of parameters; a batch of
//! rows (a JDBC batch, ADBC's `executemany`) for `INSERT … VALUES (?, …)` is one INSERT of all
//! the rows, any other update runs once per row, each run its own statement.

use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::error::FlightError;
use arrow_flight::sql::server::PeekableFlightDataStream;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::scalar::ScalarValue;
use futures::TryStreamExt;
use tonic::Status;

use super::service::to_status;
use crate::TimeMachine;
use crate::sql::params;

/// The Arrow batches of a DoPut, and their schema when one came (messages without an Arrow
/// header, such as a descriptor alone, are skipped).
async fn batches(data: PeekableFlightDataStream) -> Result<(Option<SchemaRef>, Vec<RecordBatch>), Status> {
    let data = data.map_err(FlightError::from).try_filter(|d| std::future::ready(!d.data_header.is_empty()));
    let mut stream = FlightRecordBatchStream::new_from_flight_data(data);
    let mut batches = vec![];
    while let Some(batch) =
        stream.try_next().await.map_err(|e| Status::invalid_argument(format!("malformed Arrow data: {e}")))?
    {
        batches.push(batch);
    }
    Ok((stream.schema().cloned(), batches))
}

/// The rows of parameters a client sent (none when it sent no batch).
pub(crate) async fn bound_rows(data: PeekableFlightDataStream) -> Result<Vec<Vec<ScalarValue>>, Status> {
    let (_, batches) = batches(data).await?;
    let mut rows = vec![];
    for batch in &batches {
        for row in 0..batch.num_rows() {
            let values = batch.columns().iter().map(|c| ScalarValue::try_from_array(c, row));
            rows.push(values.collect::<Result<Vec<_>, _>>().map_err(|e| Status::invalid_argument(e.to_string()))?);
        }
    }
    Ok(rows)
}

/// The parameter schema of a statement taking parameters of `types`: `$1`, `$2`, … (nullable).
pub(crate) fn schema(types: Vec<DataType>) -> Schema {
    Schema::new(
        types.into_iter().enumerate().map(|(i, t)| Field::new(format!("${}", i + 1), t, true)).collect::<Vec<_>>(),
    )
}

/// The schema of what `sql` returns, planned (privileges checked) but not run. A statement that
/// cannot be planned with its placeholders unbound (an UPDATE or DELETE evaluates its
/// condition's constants when planned) is planned with each parameter NULL; one that needs
/// their values to be planned at all (`VERSION AS OF ?`, `TO LSN ?`) is known, and checked,
/// when it runs: None.
pub(crate) async fn describe(tm: &TimeMachine, sql: &str) -> Result<Option<SchemaRef>, Status> {
    match tm.describe_result(sql).await {
        Ok((_, schema)) => Ok(Some(schema)),
        Err(e) => match params::count(sql) {
            Ok(0) | Err(_) => Err(to_status(e)),
            Ok(n) => {
                let nulls = params::bind(sql, &vec![ScalarValue::Null; n]).map_err(to_status)?;
                Ok(tm.describe_result(&nulls).await.ok().map(|(_, schema)| schema))
            }
        },
    }
}

/// The statements to run for `sql` with the rows `bound`: `sql` itself when it takes no
/// parameter, one INSERT of every row for `INSERT … VALUES (?, …)`, else one per row.
pub(crate) fn statements(sql: &str, bound: &[Vec<ScalarValue>]) -> Result<Vec<String>, Status> {
    let wanted = params::count(sql).map_err(to_status)?;
    match (wanted, bound.len()) {
        (0, 0) => Ok(vec![sql.to_string()]),
        (0, _) => Err(Status::invalid_argument("the statement takes no parameters, but parameters were bound")),
        (_, 0) => Err(Status::invalid_argument(format!(
            "the statement takes {wanted} parameter{}: bind {} before executing it",
            if wanted == 1 { "" } else { "s" },
            if wanted == 1 { "it" } else { "them" }
        ))),
        (_, 1) => Ok(vec![params::bind(sql, &bound[0]).map_err(to_status)?]),
        _ => match params::bind_values(sql, bound).map_err(to_status)? {
            Some(one) => Ok(vec![one]),
            None => bound.iter().map(|row| params::bind(sql, row).map_err(to_status)).collect(),
        },
    }
}

/// The one statement a prepared query runs with the rows `bound`.
pub(crate) fn query(sql: &str, bound: &[Vec<ScalarValue>]) -> Result<String, Status> {
    let mut statements = statements(sql, bound)?;
    if statements.len() > 1 {
        return Err(Status::invalid_argument(format!(
            "a query runs with one row of parameters; {} rows were bound",
            statements.len()
        )));
    }
    Ok(statements.remove(0))
}
