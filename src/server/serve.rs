//! The server itself: options, start (listening on a socket the caller bound), shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arrow_flight::flight_service_server::FlightServiceServer;
use tonic::transport::{Identity, ServerTlsConfig};

use super::service::TimeMachineFlightSql;
use crate::error::{Error, Result};
use crate::log::Project;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Run queries on the Ballista scheduler at this URL (`df://host:50050`).
    pub ballista: Option<String>,
    /// Serve a project without users to anyone (no login); refused once it has users.
    pub allow_anonymous: bool,
    /// A session's token stops working after this long unused.
    pub idle_timeout: Duration,
    /// TLS: the server's certificate chain and private key (PEM).
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
    /// How long a shutdown waits for running statements before it stops them.
    pub drain: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            ballista: None,
            allow_anonymous: false,
            idle_timeout: Duration::from_secs(8 * 3600),
            tls: None,
            drain: Duration::from_secs(30),
        }
    }
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<()>>,
    project: Arc<Project>,
    drain: Duration,
}

impl Server {
    /// Serves `project` on `listener` until [`Server::shutdown`].
    pub fn start(project: Arc<Project>, options: ServeOptions, listener: tokio::net::TcpListener) -> Result<Self> {
        let addr = listener.local_addr().map_err(|e| Error::invalid(format!("the listener has no address: {e}")))?;
        let service = TimeMachineFlightSql::new(
            Arc::clone(&project),
            options.ballista.clone(),
            options.allow_anonymous,
            options.idle_timeout,
        );
        let mut builder = tonic::transport::Server::builder();
        if let Some((cert, key)) = &options.tls {
            let tls = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
            builder = builder.tls_config(tls).map_err(|e| Error::invalid(format!("TLS certificate or key: {e}")))?;
        }
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        let router = builder.add_service(FlightServiceServer::new(service).max_decoding_message_size(64 << 20));
        let task = tokio::spawn(async move {
            router
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = stopped.await;
                })
                .await
                .map_err(|e| Error::invalid(format!("the Flight SQL server failed: {e}")))
        });
        Ok(Self { addr, stop, task, project, drain: options.drain })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops taking new calls, lets running ones finish for up to the drain time (then stops
    /// them: a statement that did not commit changes nothing), and waits for background upkeep.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let mut task = self.task;
        if tokio::time::timeout(self.drain, &mut task).await.is_err() {
            tracing::warn!("statements still running after {:?}: stopping them", self.drain);
            task.abort();
        }
        let _ = tokio::time::timeout(self.drain, self.project.wait_background()).await;
    }
}
