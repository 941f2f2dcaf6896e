//! The arguments of `timemachine serve` and the process around the server: one line saying
//! where it listens, and a graceful stop on SIGTERM or Ctrl-C (exit code 0).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use super::serve::{ServeOptions, Server};
use crate::TimeMachine;
use crate::policy::acl::Acl;

/// `timemachine serve`: Arrow Flight SQL over gRPC.
#[derive(Debug, Parser)]
#[command(name = "timemachine serve", about = "Serve a project over Arrow Flight SQL (gRPC)")]
pub struct ServeArgs {
    /// Warehouse: a directory, file://…, or s3://bucket/prefix. The server holds its
    /// credentials; clients never do.
    #[arg(long, env = "TIMEMACHINE_WAREHOUSE", default_value = "./warehouse")]
    pub warehouse: String,
    /// Project to serve.
    #[arg(long, default_value = "default")]
    pub project: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0: any free port, printed at start).
    #[arg(long, default_value_t = 50060)]
    pub port: u16,
    /// Run queries on the Apache Ballista cluster whose scheduler is at this URL (df://host:50050).
    #[arg(long, env = "TIMEMACHINE_BALLISTA")]
    pub ballista: Option<String>,
    /// TLS certificate chain (PEM); with --tls-key.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM); with --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve a project that has no users to anyone, without login (refused once it has users).
    #[arg(long)]
    pub allow_anonymous: bool,
    /// Seconds a session may stay unused before its token stops working.
    #[arg(long, default_value_t = 8 * 3600)]
    pub idle_timeout: u64,
    /// Seconds a stop waits for running statements.
    #[arg(long, default_value_t = 30)]
    pub drain: u64,
    /// Log logins and background work to stderr (RUST_LOG sets the filter in detail).
    #[arg(short, long)]
    pub verbose: bool,
}

/// Runs `timemachine serve` with `args` (without the program name and `serve`).
pub fn main(args: Vec<String>) -> ExitCode {
    let args = ServeArgs::parse_from(std::iter::once("timemachine serve".to_string()).chain(args));
    let filter = if args.verbose { "datafusion_timemachine=info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> crate::Result<()> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let read = |p: &PathBuf| {
                std::fs::read(p).map_err(|e| crate::Error::invalid(format!("cannot read {}: {e}", p.display())))
            };
            Some((read(cert)?, read(key)?))
        }
        _ => None,
    };
    // Listen first: a bad address fails before the warehouse is touched.
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .map_err(|e| crate::Error::invalid(format!("cannot listen on {}:{}: {e}", args.host, args.port)))?;
    let tm = TimeMachine::builder().location(&args.warehouse).project(&args.project).build().await?;
    let project = Arc::clone(tm.project());
    let options = ServeOptions {
        ballista: args.ballista.clone(),
        allow_anonymous: args.allow_anonymous,
        idle_timeout: Duration::from_secs(args.idle_timeout),
        tls: tls.clone(),
        drain: Duration::from_secs(args.drain),
    };
    let server = Server::start(Arc::clone(&project), options, listener)?;
    let has_users = Acl::of(&project.state()).enforced();
    let auth = match (has_users, args.allow_anonymous) {
        (true, _) => "users log in with their passwords",
        (false, true) => "ANONYMOUS: the project has no users and anyone may connect (--allow-anonymous)",
        (false, false) => {
            "the project has no users, so every login is refused: add one in the CLI (ADD USER u IDENTIFIED BY '…')"
        }
    };
    let scheme = if tls.is_some() { "grpc+tls" } else { "grpc" };
    // A closed stderr (a supervisor that read the first line and left) must not stop the server.
    let say = |line: String| {
        let _ = writeln!(std::io::stderr(), "{line}");
    };
    say(format!(
        "timemachine serve: Flight SQL on {scheme}://{} (project {}, warehouse {}; {auth})",
        server.addr(),
        args.project,
        args.warehouse
    ));
    stop_signal().await;
    say(format!("timemachine serve: stopping (running statements may finish for {} s)", args.drain));
    server.shutdown().await;
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
