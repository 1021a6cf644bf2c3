//! Serving a service: the API (with the health endpoints) on its main port and `/metrics` on its
//! metrics port, with a draining shutdown.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::health::Health;
use crate::request_span::with_request_tracing;
use crate::serve::serve;
use crate::stall::WriteStallGuard;
use crate::{exporter, http};

/// A bound, ready-to-run service. Binding happens in `Application::build` so tests can ask for
/// port 0 and read the real ports before running.
pub struct ServiceServer {
    api: TcpListener,
    metrics: TcpListener,
    api_addr: SocketAddr,
    metrics_addr: SocketAddr,
    router: Router,
    health: Health,
    handle: PrometheusHandle,
    drain_delay: Duration,
    health_interval: Duration,
    header_read_timeout: Duration,
    write_stall_timeout: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot bind the {what} port {host}:{port}: {source}")]
pub struct BindError {
    what: &'static str,
    host: String,
    port: u16,
    source: std::io::Error,
}

pub use crate::config::Listen;
use crate::config::RuntimeConfig;
use crate::exporter::ExporterError;

/// Why a service could not start: every service's `Application::build` and `run` return this.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Exporter(#[from] ExporterError),
    #[error(transparent)]
    Bind(#[from] BindError),
    /// A dependency's client could not even be configured (not: the dependency is down, which a
    /// service survives).
    #[error("{0}")]
    Dependency(Box<dyn std::error::Error + Send + Sync>),
    #[error("server error: {0}")]
    Serve(#[from] std::io::Error),
}

impl StartupError {
    pub fn dependency(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Dependency(Box::new(err))
    }
}

async fn bind(
    what: &'static str,
    host: &str,
    port: u16,
) -> Result<(TcpListener, SocketAddr), BindError> {
    let error = |source| BindError {
        what,
        host: host.to_owned(),
        port,
        source,
    };
    let listener = TcpListener::bind((host, port)).await.map_err(error)?;
    let addr = listener.local_addr().map_err(error)?;
    Ok((listener, addr))
}

impl ServiceServer {
    /// Binds both ports. `api_router` is the service's own routes (already wrapped in the HTTP
    /// metrics layer); the health router is merged beside it.
    pub async fn bind(
        runtime: &RuntimeConfig,
        api_router: Router,
        health: Health,
        handle: PrometheusHandle,
    ) -> Result<Self, BindError> {
        let listen = &runtime.listen;
        let (api, api_addr) = bind("API", &listen.host, listen.port).await?;
        let (metrics, metrics_addr) = bind("metrics", &listen.host, listen.metrics_port).await?;
        // Health probes are neither traced nor counted as API requests; all responses carry ids.
        let router =
            http::with_request_ids(with_request_tracing(api_router).merge(health.router()));
        Ok(Self {
            api,
            metrics,
            api_addr,
            metrics_addr,
            router,
            health,
            handle,
            drain_delay: runtime.drain_delay,
            health_interval: runtime.health_interval,
            header_read_timeout: runtime.header_read_timeout,
            write_stall_timeout: None,
        })
    }

    /// Closes API connections whose writes make no progress for `timeout` (a client that stopped
    /// reading), so long-lived streaming responses cannot pin a connection forever.
    pub fn with_write_stall_timeout(mut self, timeout: Duration) -> Self {
        self.write_stall_timeout = Some(timeout);
        self
    }

    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_addr
    }

    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Where the service's background tasks run: supervised, restarted when they fail.
    pub fn supervisor(&self) -> &crate::Supervisor {
        self.health.supervisor()
    }

    /// Serves until `shutdown` is cancelled, then drains: `/ready` answers 503, new connections are
    /// accepted for the drain delay, and in-flight requests finish. The health checks run in the
    /// background meanwhile, so the status gauges stay current.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StartupError> {
        self.health
            .spawn_monitor(self.health_interval, shutdown.clone());
        exporter::spawn_upkeep(self.handle.clone(), shutdown.clone());
        let metrics_shutdown = shutdown.clone();
        let metrics = tokio::spawn(serve(
            self.metrics,
            exporter::router(self.handle),
            self.header_read_timeout,
            async move { metrics_shutdown.cancelled().await },
        ));
        let health = self.health.clone();
        let drain_delay = self.drain_delay;
        let api = WriteStallGuard::new(self.api, self.write_stall_timeout);
        serve(api, self.router, self.header_read_timeout, async move {
            shutdown.cancelled().await;
            health.mark_draining();
            tracing::info!(?drain_delay, "shutting down: draining");
            tokio::time::sleep(drain_delay).await;
        })
        .await;
        metrics.await.map_err(std::io::Error::other)?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// A token cancelled on Ctrl-C or SIGTERM.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            _ = terminate => {},
        }
        cancel.cancel();
    });
    token
}

/// What every service's `main` does, given its `Application`.
pub trait Service: Sized + Send {
    type Config: Send;
    /// The service name, e.g. `notify_server`.
    const NAME: &'static str;
    fn runtime(config: &Self::Config) -> &RuntimeConfig;
    fn build(config: Self::Config) -> impl Future<Output = Result<Self, StartupError>> + Send;
    fn run(
        self,
        shutdown: CancellationToken,
    ) -> impl Future<Output = Result<(), StartupError>> + Send;
}

/// The body of every service's `main`: a configuration error exits with status 2 and names the
/// variable; otherwise tracing is set up and the service runs until Ctrl-C or SIGTERM.
pub async fn main<S: Service>(config: Result<S::Config, impl std::fmt::Display>) -> ExitCode {
    let config = match config {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{}: configuration error: {err}", S::NAME);
            return ExitCode::from(2);
        }
    };
    let runtime = S::runtime(&config);
    crate::telemetry::init(runtime.log_format, &runtime.log_filter);
    let result = match S::build(config).await {
        Ok(service) => service.run(shutdown_on_signal()).await,
        Err(err) => Err(err),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "{} stopped with an error", S::NAME);
            ExitCode::FAILURE
        }
    }
}
