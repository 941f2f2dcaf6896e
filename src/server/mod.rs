//! `timemachine serve`: the project as an Arrow Flight SQL service over gRPC, so that many
//! users share it through any Flight SQL client (ADBC, JDBC, BI tools) without holding the
//! warehouse's credentials. Users log in with a password (see `ADD USER … IDENTIFIED BY`); each
//! statement runs as the authenticated user under the project's privileges.
//!
//! ```no_run
//! # async fn f() -> datafusion_timemachine::Result<()> {
//! use datafusion_timemachine::TimeMachine;
//! use datafusion_timemachine::server::{ServeOptions, Server};
//! let tm = TimeMachine::open("./warehouse").await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
//! let server = Server::start(tm.project().clone(), ServeOptions::default(), listener)?;
//! println!("Flight SQL on {}", server.addr());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod auth;
#[cfg(feature = "cli")]
mod cli;
mod ingest;
mod metadata;
mod params;
mod serve;
mod service;
mod session;
mod wire;

#[cfg(feature = "cli")]
pub use cli::{ServeArgs, main};
pub use serve::{ServeOptions, Server};
pub use service::TimeMachineFlightSql;
