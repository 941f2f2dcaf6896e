//! Sessions and processes of a Ballista cluster that knows versioned tables: the client session
//! (remote or with the cluster inside this process), the scheduler and the executor, each with
//! [`TimeMachineCodec`] and [`WarehouseStores`].

use std::net::SocketAddr;
use std::sync::Arc;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::codec::TimeMachineCodec;
use super::physical_codec::TimeMachinePhysicalCodec;
use super::stores::WarehouseStores;

fn runtime() -> Result<Arc<RuntimeEnv>> {
    RuntimeEnvBuilder::new().with_object_store_registry(Arc::new(WarehouseStores::default())).build_arc()
}

fn ballista_error(e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("ballista: {e}"))
}

/// A client session on the Ballista scheduler at `url` (`df://host:port`). Attach the time
/// machine to it (`TimeMachine::builder().session_context(ctx)`, or the builder's `ballista`).
pub async fn ballista_context(url: &str) -> Result<SessionContext> {
    let config = SessionConfig::new_with_ballista()
        .with_information_schema(true)
        .with_ballista_logical_extension_codec(Arc::new(TimeMachineCodec::default()))
        .with_ballista_physical_extension_codec(Arc::new(TimeMachinePhysicalCodec::default()));
    let state =
        SessionStateBuilder::new().with_config(config).with_runtime_env(runtime()?).with_default_features().build();
    SessionContext::remote_with_state(url, state).await
}

/// True when `ctx` sends its queries to a Ballista scheduler.
pub fn is_ballista(ctx: &SessionContext) -> bool {
    ctx.state_ref().read().config().options().extensions.get::<ballista_core::config::BallistaConfig>().is_some()
}

/// Where a scheduler listens.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Address to bind (`0.0.0.0` for every interface).
    pub bind_host: String,
    /// Host name executors and clients use for this scheduler.
    pub external_host: String,
    /// gRPC port (Ballista's default is 50050).
    pub port: u16,
}

/// Where an executor listens and which scheduler it serves.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// Address to bind.
    pub bind_host: String,
    /// Host name the scheduler and other executors use for this executor.
    pub external_host: Option<String>,
    /// Arrow Flight port (shuffle data).
    pub port: u16,
    /// gRPC port.
    pub grpc_port: u16,
    /// The scheduler's host.
    pub scheduler_host: String,
    /// The scheduler's port.
    pub scheduler_port: u16,
    /// Tasks run at once (default: the cores of the machine).
    pub vcores: Option<usize>,
    /// Where the executor writes the shuffle files between stages (default: a new directory
    /// under the system's temporary directory).
    pub work_dir: Option<String>,
}

/// Runs a scheduler that decodes versioned tables until the process ends.
pub async fn run_scheduler(options: SchedulerOptions) -> Result<()> {
    let config = SchedulerConfig {
        bind_host: options.bind_host.clone(),
        external_host: options.external_host.clone(),
        bind_port: options.port,
        override_logical_codec: Some(Arc::new(TimeMachineCodec::default())),
        override_physical_codec: Some(Arc::new(TimeMachinePhysicalCodec::default())),
        ..Default::default()
    };
    let addr: SocketAddr = format!("{}:{}", options.bind_host, options.port)
        .parse()
        .map_err(|e| DataFusionError::Configuration(format!("scheduler address: {e}")))?;
    let cluster = BallistaCluster::new_from_config(&config).await.map_err(ballista_error)?;
    start_server(cluster, addr, Arc::new(config)).await.map_err(ballista_error)
}

/// Runs an executor that reads shared warehouses (S3 from the `AWS_*` variables, local
/// directories) until the process ends.
pub async fn run_executor(options: ExecutorOptions) -> Result<()> {
    if let Some(dir) = &options.work_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| DataFusionError::Configuration(format!("executor work directory {dir}: {e}")))?;
    }
    let runtime_producer: ballista_core::RuntimeProducer = Arc::new(|_config: &SessionConfig| runtime());
    let defaults = ExecutorProcessConfig::default();
    let config = ExecutorProcessConfig {
        bind_host: options.bind_host,
        external_host: options.external_host,
        port: options.port,
        grpc_port: options.grpc_port,
        scheduler_host: options.scheduler_host,
        scheduler_port: options.scheduler_port,
        vcores: options.vcores.unwrap_or(defaults.vcores),
        work_dir: options.work_dir,
        override_logical_codec: Some(Arc::new(TimeMachineCodec::default())),
        override_physical_codec: Some(Arc::new(TimeMachinePhysicalCodec::default())),
        override_runtime_producer: Some(runtime_producer),
        ..defaults
    };
    start_executor_process(Arc::new(config)).await.map_err(ballista_error)
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// A client session on a cluster started inside this process: a scheduler and `executors`
/// executors on loopback ports (for tests and single-machine use).
pub async fn standalone_context(executors: usize) -> Result<SessionContext> {
    let port = free_port()?;
    let scheduler = SchedulerOptions { bind_host: "127.0.0.1".into(), external_host: "localhost".into(), port };
    tokio::spawn(async move {
        if let Err(e) = run_scheduler(scheduler).await {
            eprintln!("scheduler stopped: {e}");
        }
    });
    wait_for_port(port).await?;
    for _ in 0..executors {
        let executor = ExecutorOptions {
            bind_host: "127.0.0.1".into(),
            external_host: Some("localhost".into()),
            port: free_port()?,
            grpc_port: free_port()?,
            scheduler_host: "localhost".into(),
            scheduler_port: port,
            vcores: Some(2),
            work_dir: None,
        };
        tokio::spawn(async move {
            if let Err(e) = run_executor(executor).await {
                eprintln!("executor stopped: {e}");
            }
        });
    }
    ballista_context(&format!("df://localhost:{port}")).await
}

async fn wait_for_port(port: u16) -> Result<()> {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Err(DataFusionError::Execution(format!("the scheduler did not start listening on port {port}")))
}
