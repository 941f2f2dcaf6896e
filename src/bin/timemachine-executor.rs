//! A Ballista executor that reads the time machine's shared warehouses: S3 buckets configured
//! by the usual `AWS_*` variables, and local directories.
//!
//! `timemachine-executor [--scheduler-host localhost] [--scheduler-port 50050] [--port 50051]
//! [--grpc-port 50052] [--bind-host 0.0.0.0] [--external-host HOST] [--concurrent-tasks N]
//! [--work-dir DIR]`

use clap::Parser;
use datafusion_timemachine::distributed::{ExecutorOptions, run_executor};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(name = "timemachine-executor", version, about = "Ballista executor for datafusion-timemachine tables")]
struct Args {
    /// The scheduler's host.
    #[arg(long, default_value = "localhost")]
    scheduler_host: String,
    /// The scheduler's port.
    #[arg(long, default_value_t = 50050)]
    scheduler_port: u16,
    /// Address to bind.
    #[arg(long, default_value = "0.0.0.0")]
    bind_host: String,
    /// Host name the scheduler and other executors reach this executor by.
    #[arg(long)]
    external_host: Option<String>,
    /// Arrow Flight port (shuffle data).
    #[arg(long, default_value_t = 50051)]
    port: u16,
    /// gRPC port.
    #[arg(long, default_value_t = 50052)]
    grpc_port: u16,
    /// Tasks run at once (default: the machine's cores).
    #[arg(long)]
    concurrent_tasks: Option<usize>,
    /// Directory for the shuffle files between stages (default: a new one under the system's
    /// temporary directory).
    #[arg(long)]
    work_dir: Option<String>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let a = Args::parse();
    let options = ExecutorOptions {
        bind_host: a.bind_host,
        external_host: a.external_host,
        port: a.port,
        grpc_port: a.grpc_port,
        scheduler_host: a.scheduler_host,
        scheduler_port: a.scheduler_port,
        vcores: a.concurrent_tasks,
        work_dir: a.work_dir,
    };
    match run_executor(options).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
