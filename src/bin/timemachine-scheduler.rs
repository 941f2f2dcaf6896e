//! A Ballista scheduler that knows the time machine's versioned tables.
//!
//! `timemachine-scheduler [--bind-host 0.0.0.0] [--external-host HOST] [--port 50050]`

use clap::Parser;
use datafusion_timemachine::distributed::{SchedulerOptions, run_scheduler};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(name = "timemachine-scheduler", version, about = "Ballista scheduler for datafusion-timemachine tables")]
struct Args {
    /// Address to bind.
    #[arg(long, default_value = "0.0.0.0")]
    bind_host: String,
    /// Host name executors and clients reach this scheduler by.
    #[arg(long, default_value = "localhost")]
    external_host: String,
    /// gRPC port.
    #[arg(long, default_value_t = 50050)]
    port: u16,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let a = Args::parse();
    let options = SchedulerOptions { bind_host: a.bind_host, external_host: a.external_host, port: a.port };
    match run_scheduler(options).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
