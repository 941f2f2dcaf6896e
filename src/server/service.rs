//! The Flight SQL protocol over [`TimeMachine`]: a thin layer that authenticates each call,
//! finds the caller's session and hands the SQL to it. Statements are planned by GetFlightInfo
//! (statements with side effects run there, as DataFusion's DDL does) and their rows stream
//! batch by batch from DoGet; DoPut runs updates and DDL; prepared statements keep their SQL and
//! the parameters bound to them (`params.rs`), and plan afresh at each execution.

use std::pin::Pin;
use std::sync::Arc;

use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest, ActionCreatePreparedStatementResult,
    Any, CommandGetCatalogs, CommandGetCrossReference, CommandGetDbSchemas, CommandGetExportedKeys,
    CommandGetImportedKeys, CommandGetPrimaryKeys, CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables,
    CommandGetXdbcTypeInfo, CommandPreparedStatementQuery, CommandPreparedStatementUpdate, CommandStatementIngest,
    CommandStatementQuery, CommandStatementUpdate, DoPutPreparedStatementResult, ProstMessageExt, SqlInfo,
    TicketStatementQuery,
};
use arrow_flight::{
    Action, BasicAuth, CancelFlightInfoRequest, CancelFlightInfoResult, CancelStatus, FlightDescriptor, FlightEndpoint,
    FlightInfo, HandshakeRequest, HandshakeResponse, IpcMessage, SchemaAsIpc, Ticket,
};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::writer::IpcWriteOptions;
use datafusion::arrow::record_batch::RecordBatch;
use futures::stream::{self, BoxStream};
use futures::{Stream, StreamExt, TryStreamExt};
use prost::Message;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status, Streaming};

use super::auth::{Credentials, Sessions, credentials, verify};
use super::metadata;
use super::session::Session;
use crate::TimeMachine;
use crate::error::Error;
use crate::log::Project;
use crate::policy::acl::Acl;
use crate::statements::ResultKind;

/// The Flight SQL service of one project.
#[derive(Clone)]
pub struct TimeMachineFlightSql {
    inner: Arc<Inner>,
}

struct Inner {
    project: Arc<Project>,
    ballista: Option<String>,
    allow_anonymous: bool,
    sessions: Sessions,
}

/// How an error reaches a client: the gRPC code that says what kind of failure it is, and the
/// crate's message (which names the user, privilege and object of a denial).
pub(crate) fn to_status(e: Error) -> Status {
    let message = e.to_string();
    let denied = message.contains("permission denied:");
    match e {
        Error::PermissionDenied(_) => Status::permission_denied(message),
        _ if denied => Status::permission_denied(message),
        Error::Syntax(_) | Error::Invalid(_) => Status::invalid_argument(message),
        Error::NotFound(_) => Status::not_found(message),
        Error::AlreadyExists(_) => Status::already_exists(message),
        Error::Conflict(_) => Status::aborted(message),
        Error::NotSupported(_) => Status::unimplemented(message),
        Error::Cancelled => Status::cancelled(message),
        _ => Status::internal(message),
    }
}

type Stream_<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

impl TimeMachineFlightSql {
    /// The service for `project`; sessions run queries on the Ballista scheduler at `ballista`
    /// when given. Tokens of sessions idle longer than `idle_timeout` stop working.
    pub fn new(
        project: Arc<Project>,
        ballista: Option<String>,
        allow_anonymous: bool,
        idle_timeout: std::time::Duration,
    ) -> Self {
        let sessions = Sessions::new(idle_timeout);
        Self { inner: Arc::new(Inner { project, ballista, allow_anonymous, sessions }) }
    }

    async fn open_session(&self, user: Option<String>) -> Result<Session, Status> {
        let project = Arc::clone(&self.inner.project);
        let ctx = crate::session::new_context(self.inner.ballista.as_deref(), project.warehouse(), project.name())
            .await
            .map_err(to_status)?;
        let tm = TimeMachine::attach_for_client(ctx, project, user).map_err(to_status)?;
        Ok(Session::new(tm))
    }

    /// The caller's session: from its bearer token, or (with `--allow-anonymous`, on a
    /// project without users) the anonymous session of its address.
    async fn session<T>(&self, request: &Request<T>) -> Result<Arc<Session>, Status> {
        match credentials(request.metadata())? {
            Credentials::Bearer(token) => self.inner.sessions.get(&token),
            Credentials::Basic { .. } => Err(Status::unauthenticated(
                "log in with the Flight SQL handshake (Basic user:password), then send the bearer token it returns",
            )),
            Credentials::None => {
                let has_users = Acl::of(&self.inner.project.state()).enforced();
                if !self.inner.allow_anonymous || has_users {
                    return Err(Status::unauthenticated("no credentials: log in with a user name and password"));
                }
                let peer = request.remote_addr().map_or_else(|| "local".to_string(), |a| a.to_string());
                if let Some(s) = self.inner.sessions.find_anonymous(&peer) {
                    return Ok(s);
                }
                let session = self.open_session(None).await?;
                Ok(self.inner.sessions.keep_anonymous(&peer, session))
            }
        }
    }

    /// Plans `sql` in `session` (running it when it has side effects) and describes where its
    /// rows are.
    async fn flight_info(
        &self,
        session: &Session,
        sql: &str,
        descriptor: FlightDescriptor,
    ) -> Result<FlightInfo, Status> {
        let (_, df) = session.tm.run(sql).await.map_err(to_status)?;
        let schema = super::wire::plain_schema(df.schema().as_arrow());
        let handle = session.add_pending(df);
        let ticket = TicketStatementQuery { statement_handle: handle.into() };
        let endpoint = FlightEndpoint::new().with_ticket(Ticket::new(ticket.as_any().encode_to_vec()));
        let info = FlightInfo::new().try_with_schema(&schema).map_err(|e| Status::internal(e.to_string()))?;
        Ok(info.with_endpoint(endpoint).with_descriptor(descriptor).with_ordered(true))
    }
}

/// Runs `sql` as an update: the number of rows written (0 for DDL), or of rows returned.
pub(super) async fn update(session: &Session, sql: &str) -> Result<i64, Status> {
    let (kind, df) = session.tm.run(sql).await.map_err(to_status)?;
    match kind {
        ResultKind::RowsAffected(n) => Ok(n as i64),
        ResultKind::Ok => Ok(0),
        ResultKind::Query => {
            let mut rows = 0;
            let mut stream = df.execute_stream().await.map_err(|e| to_status(e.into()))?;
            while let Some(batch) = stream.next().await {
                rows += batch.map_err(|e| to_status(e.into()))?.num_rows() as i64;
            }
            Ok(rows)
        }
    }
}

/// Rows as Flight data.
fn flight_stream(
    schema: SchemaRef,
    batches: BoxStream<'static, Result<RecordBatch, FlightError>>,
) -> Stream_<arrow_flight::FlightData> {
    Box::pin(FlightDataEncoderBuilder::new().with_schema(schema).build(batches).map_err(Status::from))
}

fn one_batch(batch: Result<RecordBatch, Status>) -> Result<Response<Stream_<arrow_flight::FlightData>>, Status> {
    let batch = batch?;
    let schema = batch.schema();
    Ok(Response::new(flight_stream(schema, stream::once(async { Ok(batch) }).boxed())))
}

fn info_for(
    descriptor: FlightDescriptor,
    ticket: Vec<u8>,
    schema: &datafusion::arrow::datatypes::Schema,
) -> Result<Response<FlightInfo>, Status> {
    let info = FlightInfo::new().try_with_schema(schema).map_err(|e| Status::internal(e.to_string()))?;
    let endpoint = FlightEndpoint::new().with_ticket(Ticket::new(ticket));
    Ok(Response::new(info.with_endpoint(endpoint).with_descriptor(descriptor)))
}

/// The SQL of the session's prepared statement `handle` and the parameters bound to it.
fn prepared(session: &Session, handle: &str) -> Result<(String, Vec<Vec<datafusion::scalar::ScalarValue>>), Status> {
    session.prepared(handle).ok_or_else(|| Status::not_found("no such prepared statement (closed?)"))
}

fn handle_text(bytes: &[u8]) -> Result<String, Status> {
    String::from_utf8(bytes.to_vec()).map_err(|_| Status::invalid_argument("malformed statement handle"))
}

#[tonic::async_trait]
impl FlightSqlService for TimeMachineFlightSql {
    type FlightService = TimeMachineFlightSql;

    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Stream_<HandshakeResponse>>, Status> {
        let (user, password) = match credentials(request.metadata())? {
            Credentials::Basic { user, password } => (user, password),
            Credentials::Bearer(_) => return Err(Status::unauthenticated("the handshake takes Basic credentials")),
            Credentials::None => {
                // Older clients send BasicAuth in the handshake's payload instead of a header.
                let mut requests = request.into_inner();
                let first = requests.next().await.transpose()?;
                match first.and_then(|r| BasicAuth::decode(r.payload).ok()).filter(|b| !b.username.is_empty()) {
                    Some(b) => (b.username.to_lowercase(), b.password),
                    None if self.inner.allow_anonymous && !Acl::of(&self.inner.project.state()).enforced() => {
                        return Ok(Response::new(Box::pin(stream::empty())));
                    }
                    None => {
                        return Err(Status::unauthenticated("no credentials: log in with a user name and password"));
                    }
                }
            }
        };
        let user = verify(&self.inner.project, &user, &password).await?;
        tracing::info!(user, "login");
        let token = self.inner.sessions.open(self.open_session(Some(user)).await?)?;
        let response = HandshakeResponse { protocol_version: 0, payload: token.clone().into() };
        let mut response: Response<Stream_<HandshakeResponse>> = Response::new(Box::pin(stream::iter([Ok(response)])));
        let header = MetadataValue::try_from(format!("Bearer {token}")).map_err(|e| Status::internal(e.to_string()))?;
        response.metadata_mut().insert("authorization", header);
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let session = self.session(&request).await?;
        Ok(Response::new(self.flight_info(&session, &query.query, request.into_inner()).await?))
    }

    async fn get_flight_info_prepared_statement(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let session = self.session(&request).await?;
        let handle = handle_text(&cmd.prepared_statement_handle)?;
        let (sql, bound) = prepared(&session, &handle)?;
        let sql = super::params::query(&sql, &bound)?;
        Ok(Response::new(self.flight_info(&session, &sql, request.into_inner()).await?))
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let session = self.session(&request).await?;
        let handle = handle_text(&ticket.statement_handle)?;
        let df = session.take_pending(&handle).ok_or_else(|| {
            Status::not_found("no such statement: each ticket is fetched once, from the session that planned it")
        })?;
        let schema = super::wire::plain_schema(df.schema().as_arrow());
        // Streams batch by batch; a dropped stream or CancelFlightInfo stops the plan.
        let rows = df.execute_stream().await.map_err(|e| to_status(e.into()))?;
        let (abort, registration) = futures::stream::AbortHandle::new_pair();
        session.add_running(&handle, abort);
        let sent = Arc::clone(&schema);
        let rows = stream::Abortable::new(rows, registration).map(move |b| {
            b.and_then(|b| super::wire::plain_batch(&sent, b).map_err(Into::into))
                .map_err(|e| FlightError::Tonic(Box::new(to_status(e.into()))))
        });
        Ok(Response::new(flight_stream(schema, rows.boxed())))
    }

    async fn do_put_statement_update(
        &self,
        cmd: CommandStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        let session = self.session(&request).await?;
        update(&session, &cmd.query).await
    }

    async fn do_put_statement_ingest(
        &self,
        cmd: CommandStatementIngest,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        let session = self.session(&request).await?;
        super::ingest::ingest(&session, cmd, request.into_inner()).await
    }

    async fn do_put_prepared_statement_update(
        &self,
        cmd: CommandPreparedStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        let session = self.session(&request).await?;
        let handle = handle_text(&cmd.prepared_statement_handle)?;
        let (sql, bound) = prepared(&session, &handle)?;
        // Parameters come with the update (or were bound before it).
        let sent = super::params::bound_rows(request.into_inner()).await?;
        let rows = if sent.is_empty() { bound } else { sent };
        let mut written = 0;
        for statement in super::params::statements(&sql, &rows)? {
            written += update(&session, &statement).await?;
        }
        Ok(written)
    }

    async fn do_put_prepared_statement_query(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<DoPutPreparedStatementResult, Status> {
        let session = self.session(&request).await?;
        let handle = handle_text(&cmd.prepared_statement_handle)?;
        let rows = super::params::bound_rows(request.into_inner()).await?;
        if !session.bind(&handle, rows) {
            return Err(Status::not_found("no such prepared statement (closed?)"));
        }
        Ok(DoPutPreparedStatementResult { prepared_statement_handle: Some(cmd.prepared_statement_handle) })
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let session = self.session(&request).await?;
        // Planned (privileges checked) but not run: a prepared INSERT runs when executed.
        let schema = super::params::describe(&session.tm, &query.query).await?;
        let types = session.tm.parameter_types(&query.query).await.map_err(to_status)?;
        let parameters = super::wire::plain_schema(&super::params::schema(types));
        let ipc = |schema: &datafusion::arrow::datatypes::Schema| {
            SchemaAsIpc::new(schema, &IpcWriteOptions::default())
                .try_into()
                .map(|IpcMessage(bytes)| bytes)
                .map_err(|e: datafusion::arrow::error::ArrowError| Status::internal(e.to_string()))
        };
        let parameter_schema = if parameters.fields().is_empty() { Default::default() } else { ipc(&parameters)? };
        let dataset_schema = match schema {
            Some(schema) => ipc(&super::wire::plain_schema(&schema))?,
            None => Default::default(),
        };
        let handle = session.prepare(query.query);
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: handle.into(),
            dataset_schema,
            parameter_schema,
        })
    }

    async fn do_action_close_prepared_statement(
        &self,
        query: ActionClosePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<(), Status> {
        let session = self.session(&request).await?;
        session.close_prepared(&handle_text(&query.prepared_statement_handle)?);
        Ok(())
    }

    async fn do_action_fallback(
        &self,
        request: Request<Action>,
    ) -> Result<Response<<Self as FlightService>::DoActionStream>, Status> {
        if request.get_ref().r#type != "CancelFlightInfo" {
            return Err(Status::unimplemented(format!("action {} is not supported", request.get_ref().r#type)));
        }
        let session = self.session(&request).await?;
        let cancel = CancelFlightInfoRequest::decode(request.get_ref().body.clone())
            .map_err(|e| Status::invalid_argument(format!("malformed CancelFlightInfo: {e}")))?;
        let mut status = CancelStatus::NotCancellable;
        for endpoint in cancel.info.map(|i| i.endpoint).unwrap_or_default() {
            let Some(ticket) = endpoint.ticket else { continue };
            let Ok(any) = Any::decode(ticket.ticket) else { continue };
            let Ok(Some(t)) = any.unpack::<TicketStatementQuery>() else { continue };
            if session.cancel(&handle_text(&t.statement_handle)?) {
                status = CancelStatus::Cancelled;
            }
        }
        let result = CancelFlightInfoResult { status: status as i32 };
        let body = arrow_flight::Result { body: result.encode_to_vec().into() };
        Ok(Response::new(Box::pin(stream::iter([Ok(body)]))))
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request).await?;
        let schema = query.into_builder().schema();
        info_for(request.into_inner(), query.as_any().encode_to_vec(), &schema)
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let session = self.session(&request).await?;
        one_batch(metadata::catalogs(session.tm.context(), query))
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request).await?;
        let schema = query.clone().into_builder().schema();
        info_for(request.into_inner(), query.as_any().encode_to_vec(), &schema)
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let session = self.session(&request).await?;
        one_batch(metadata::schemas(session.tm.context(), query))
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request).await?;
        let schema = query.clone().into_builder().schema();
        info_for(request.into_inner(), query.as_any().encode_to_vec(), &schema)
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let session = self.session(&request).await?;
        one_batch(metadata::tables(session.tm.context(), query).await)
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request).await?;
        let schema = query.into_builder().schema();
        info_for(request.into_inner(), query.as_any().encode_to_vec(), &schema)
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.session(&request).await?;
        one_batch(metadata::table_types(query))
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request).await?;
        let schema = query.clone().into_builder(&metadata::SQL_INFO).schema();
        info_for(request.into_inner(), query.as_any().encode_to_vec(), &schema)
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.session(&request).await?;
        one_batch(query.into_builder(&metadata::SQL_INFO).build().map_err(|e| Status::internal(e.to_string())))
    }

    async fn get_flight_info_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request).await?;
        let schema = query.into_builder(&metadata::XDBC_INFO).schema();
        info_for(request.into_inner(), query.as_any().encode_to_vec(), &schema)
    }

    async fn do_get_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.session(&request).await?;
        one_batch(query.into_builder(&metadata::XDBC_INFO).build().map_err(|e| Status::internal(e.to_string())))
    }

    async fn get_flight_info_primary_keys(
        &self,
        query: CommandGetPrimaryKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request).await?;
        info_for(request.into_inner(), query.as_any().encode_to_vec(), &metadata::primary_keys_schema())
    }

    async fn do_get_primary_keys(
        &self,
        _query: CommandGetPrimaryKeys,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.session(&request).await?;
        one_batch(Ok(RecordBatch::new_empty(metadata::primary_keys_schema())))
    }

    async fn get_flight_info_exported_keys(
        &self,
        query: CommandGetExportedKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request).await?;
        info_for(request.into_inner(), query.as_any().encode_to_vec(), &metadata::foreign_keys_schema())
    }

    async fn do_get_exported_keys(
        &self,
        _query: CommandGetExportedKeys,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.session(&request).await?;
        one_batch(Ok(RecordBatch::new_empty(metadata::foreign_keys_schema())))
    }

    async fn get_flight_info_imported_keys(
        &self,
        query: CommandGetImportedKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request).await?;
        info_for(request.into_inner(), query.as_any().encode_to_vec(), &metadata::foreign_keys_schema())
    }

    async fn do_get_imported_keys(
        &self,
        _query: CommandGetImportedKeys,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.session(&request).await?;
        one_batch(Ok(RecordBatch::new_empty(metadata::foreign_keys_schema())))
    }

    async fn get_flight_info_cross_reference(
        &self,
        query: CommandGetCrossReference,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request).await?;
        info_for(request.into_inner(), query.as_any().encode_to_vec(), &metadata::foreign_keys_schema())
    }

    async fn do_get_cross_reference(
        &self,
        _query: CommandGetCrossReference,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.session(&request).await?;
        one_batch(Ok(RecordBatch::new_empty(metadata::foreign_keys_schema())))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}
