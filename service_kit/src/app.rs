//! A service's wiring, written once: each service supplies its parts ([`ServiceParts`]: who it
//! is, its state, its API, its health checks and its background tasks) and [`Application`] does
//! the rest the same way for all of them: install the exporter, build the state, bind both ports
//! (health beside the API), start the supervised tasks and serve with a draining shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use futures::future::BoxFuture;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::catalogue::MetricDef;
use crate::config::RuntimeConfig;
use crate::health::Health;
use crate::server::{Service, ServiceServer, StartupError};
use crate::supervise::{Restart, Supervisor};
use crate::{ServiceInfo, exporter};

/// What a service supplies to [`Application`].
pub trait ServiceParts: Send + 'static {
    type Config: Send + 'static;
    /// What the handlers and the tasks share; cheap to clone.
    type State: Clone + Send + Sync + 'static;

    /// Who the service is: its name (logs, `/health`) and metric prefix.
    const SERVICE: ServiceInfo;

    fn runtime(config: &Self::Config) -> &RuntimeConfig;

    /// Everything the service exports besides the `process_*` series.
    fn catalogue() -> Vec<MetricDef>;

    /// Gives the service's series their first values, once the exporter is installed.
    fn initialise_metrics(_config: &Self::Config) {}

    /// Builds the state; never waits for a dependency (a service starts with them down).
    fn build_state(
        config: Self::Config,
    ) -> impl Future<Output = Result<Self::State, StartupError>> + Send;

    /// The API as served, with the service's own layers (request timeouts, HTTP metrics, CORS);
    /// the kit merges the health endpoints beside it and adds request ids and tracing.
    fn api(state: &Self::State, runtime: &RuntimeConfig) -> Router;

    /// The checks behind `/health` and `/ready`.
    fn health(state: &Self::State) -> Health;

    /// Closes API connections whose writes stall this long (a client that stopped reading a
    /// stream); `None` leaves them alone.
    fn write_stall_timeout(_state: &Self::State) -> Option<Duration> {
        None
    }

    /// Starts the background tasks on `tasks`; the [`Drain`] returned is awaited once the API has
    /// stopped and the tasks were told to stop.
    fn start_tasks(state: &Self::State, tasks: &Tasks) -> Drain;
}

/// Where a service starts its background tasks: supervised, stopped when the service stops.
pub struct Tasks {
    supervisor: Supervisor,
    health: Health,
    shutdown: CancellationToken,
}

impl Tasks {
    /// [`Supervisor::run`] until the service stops.
    pub fn run<T, F, Fut>(
        &self,
        name: &'static str,
        restart: Restart,
        state: T,
        run: F,
    ) -> JoinHandle<()>
    where
        T: Clone + Send + 'static,
        F: Fn(T, CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.supervisor
            .run(name, restart, state, &self.shutdown, run)
    }

    /// [`Supervisor::spawn`] until the service stops.
    pub fn spawn<F, Fut>(&self, name: &'static str, restart: Restart, task: F) -> JoinHandle<()>
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.supervisor
            .spawn(name, restart, self.shutdown.clone(), task)
    }

    /// For a task that stops on a signal of its own (say, after the API stopped).
    pub fn supervisor(&self) -> &Supervisor {
        &self.supervisor
    }

    /// The service's health, for start-up steps that report on it.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Cancelled when the service stops, whatever stopped it.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }
}

/// What is left to do once the API has stopped: wait for tasks whose work in hand must finish.
pub struct Drain(Option<BoxFuture<'static, ()>>);

impl Drain {
    /// Nothing to wait for: the tasks end on their own.
    pub fn none() -> Self {
        Self(None)
    }

    pub fn wait_for(finished: impl Future<Output = ()> + Send + 'static) -> Self {
        Self(Some(Box::pin(finished)))
    }
}

/// A built, bound service that has not started serving yet.
pub struct Application<S: ServiceParts> {
    server: ServiceServer,
    state: S::State,
}

impl<S: ServiceParts> Application<S> {
    /// Binds the ports (0 picks a free one) and builds the state; never waits for a dependency.
    pub async fn build(config: S::Config) -> Result<Self, StartupError> {
        let handle = exporter::install(S::SERVICE, &S::catalogue())?;
        S::initialise_metrics(&config);
        let runtime = S::runtime(&config).clone();
        let state = S::build_state(config).await?;
        let api = S::api(&state, &runtime);
        let mut server = ServiceServer::bind(&runtime, api, S::health(&state), handle).await?;
        if let Some(timeout) = S::write_stall_timeout(&state) {
            server = server.with_write_stall_timeout(timeout);
        }
        Ok(Self { server, state })
    }

    pub fn api_addr(&self) -> SocketAddr {
        self.server.api_addr()
    }

    pub fn metrics_addr(&self) -> SocketAddr {
        self.server.metrics_addr()
    }

    pub fn state(&self) -> &S::State {
        &self.state
    }

    /// Where the background tasks run (in-process tests use it to make one panic).
    pub fn supervisor(&self) -> Supervisor {
        self.server.supervisor().clone()
    }

    /// Serves until `shutdown` is cancelled; the background tasks stop with the service, even
    /// when serving fails, and what they have in hand finishes before this returns.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StartupError> {
        let tasks = Tasks {
            supervisor: self.server.supervisor().clone(),
            health: self.server.health().clone(),
            // A child, so a service that fails stops its own tasks and not its neighbours' (tests
            // run several services on one token).
            shutdown: shutdown.child_token(),
        };
        let Drain(drain) = S::start_tasks(&self.state, &tasks);
        let served = self.server.run(shutdown).await;
        tasks.shutdown.cancel();
        if let Some(drain) = drain {
            drain.await;
        }
        served
    }
}

impl<S: ServiceParts> Service for Application<S> {
    type Config = S::Config;
    const NAME: &'static str = S::SERVICE.name;

    fn runtime(config: &S::Config) -> &RuntimeConfig {
        S::runtime(config)
    }

    async fn build(config: S::Config) -> Result<Self, StartupError> {
        Application::build(config).await
    }

    async fn run(self, shutdown: CancellationToken) -> Result<(), StartupError> {
        Application::run(self, shutdown).await
    }
}
