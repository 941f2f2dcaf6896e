//! The catalog calls that BI tools, ADBC and JDBC make before any query: server facts
//! (GetSqlInfo), catalogs, schemas, tables with their Arrow schemas, table types, and the key and
//! type calls answered (empty) rather than refused.

use std::sync::{Arc, LazyLock};

use arrow_flight::sql::metadata::{SqlInfoData, SqlInfoDataBuilder, XdbcTypeInfoData, XdbcTypeInfoDataBuilder};
use arrow_flight::sql::{
    CommandGetCatalogs, CommandGetDbSchemas, CommandGetTableTypes, CommandGetTables, SqlInfo, SqlSupportedTransaction,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::prelude::SessionContext;
use tonic::Status;

/// What GetSqlInfo answers.
pub(crate) static SQL_INFO: LazyLock<SqlInfoData> = LazyLock::new(|| {
    let mut b = SqlInfoDataBuilder::new();
    b.append(SqlInfo::FlightSqlServerName, "datafusion-timemachine");
    b.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
    b.append(SqlInfo::FlightSqlServerArrowVersion, "1.3");
    b.append(SqlInfo::FlightSqlServerReadOnly, false);
    b.append(SqlInfo::FlightSqlServerSql, true);
    b.append(SqlInfo::FlightSqlServerSubstrait, false);
    b.append(SqlInfo::FlightSqlServerTransaction, SqlSupportedTransaction::None as i32);
    b.append(SqlInfo::FlightSqlServerCancel, true);
    b.append(SqlInfo::FlightSqlServerBulkIngestion, true);
    b.append(SqlInfo::FlightSqlServerIngestTransactionsSupported, false);
    b.append(SqlInfo::SqlDdlCatalog, false);
    b.append(SqlInfo::SqlDdlSchema, false);
    b.append(SqlInfo::SqlDdlTable, true);
    b.append(SqlInfo::SqlIdentifierQuoteChar, "`");
    b.append(
        SqlInfo::SqlIdentifierCase,
        arrow_flight::sql::SqlSupportedCaseSensitivity::SqlCaseSensitivityLowercase as i32,
    );
    b.build().expect("static SqlInfo values")
});

/// What GetXdbcTypeInfo answers: no rows (the Arrow schema of each result says the types).
pub(crate) static XDBC_INFO: LazyLock<XdbcTypeInfoData> =
    LazyLock::new(|| XdbcTypeInfoDataBuilder::new().build().expect("empty type info"));

fn status(e: impl std::fmt::Display) -> Status {
    Status::internal(format!("building catalog metadata: {e}"))
}

/// GetCatalogs: the session context's catalogs.
pub(crate) fn catalogs(ctx: &SessionContext, query: CommandGetCatalogs) -> Result<RecordBatch, Status> {
    let mut b = query.into_builder();
    for name in ctx.catalog_names() {
        b.append(name);
    }
    b.build().map_err(status)
}

/// GetDbSchemas: each catalog's schemas (the project's tables are in the default schema).
pub(crate) fn schemas(ctx: &SessionContext, query: CommandGetDbSchemas) -> Result<RecordBatch, Status> {
    let mut b = query.into_builder();
    for catalog in ctx.catalog_names() {
        let Some(c) = ctx.catalog(&catalog) else { continue };
        for schema in c.schema_names() {
            b.append(&catalog, schema);
        }
    }
    b.build().map_err(status)
}

/// GetTables: every table and view, with its Arrow schema when asked.
pub(crate) async fn tables(ctx: &SessionContext, query: CommandGetTables) -> Result<RecordBatch, Status> {
    let with_schema = query.include_schema;
    let mut b = query.into_builder();
    for catalog in ctx.catalog_names() {
        let Some(c) = ctx.catalog(&catalog) else { continue };
        for schema_name in c.schema_names() {
            let Some(schema) = c.schema(&schema_name) else { continue };
            for table in schema.table_names() {
                // A table that cannot be opened (unreadable metadata) is listed without columns.
                let provider: Option<Arc<dyn TableProvider>> = schema.table(&table).await.ok().flatten();
                let kind = match provider.as_ref().map(|p| p.table_type()) {
                    Some(datafusion::datasource::TableType::View) => "VIEW",
                    _ => "TABLE",
                };
                let arrow: SchemaRef = match (&provider, with_schema) {
                    // As the rows are sent (text as Utf8, see `wire.rs`).
                    (Some(p), true) => super::wire::plain_schema(&p.schema()),
                    _ => Arc::new(Schema::empty()),
                };
                b.append(&catalog, &schema_name, &table, kind, &arrow).map_err(status)?;
            }
        }
    }
    b.build().map_err(status)
}

/// GetTableTypes.
pub(crate) fn table_types(query: CommandGetTableTypes) -> Result<RecordBatch, Status> {
    let mut b = query.into_builder();
    for t in ["TABLE", "VIEW"] {
        b.append(t);
    }
    b.build().map_err(status)
}

/// The schema of GetPrimaryKeys (tables here have no primary keys: always empty).
pub(crate) fn primary_keys_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("catalog_name", DataType::Utf8, true),
        Field::new("db_schema_name", DataType::Utf8, true),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("column_name", DataType::Utf8, false),
        Field::new("key_name", DataType::Utf8, true),
        Field::new("key_sequence", DataType::Int32, false),
    ]))
}

/// The schema of GetExportedKeys, GetImportedKeys and GetCrossReference (always empty).
pub(crate) fn foreign_keys_schema() -> SchemaRef {
    let utf8 = |name: &str, nullable| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        utf8("pk_catalog_name", true),
        utf8("pk_db_schema_name", true),
        utf8("pk_table_name", false),
        utf8("pk_column_name", false),
        utf8("fk_catalog_name", true),
        utf8("fk_db_schema_name", true),
        utf8("fk_table_name", false),
        utf8("fk_column_name", false),
        Field::new("key_sequence", DataType::Int32, false),
        utf8("fk_key_name", true),
        utf8("pk_key_name", true),
        Field::new("update_rule", DataType::UInt8, false),
        Field::new("delete_rule", DataType::UInt8, false),
    ]))
}
