//! Request instrumentation: the metrics layer (`{service}_http_*`, labelled by method, route template
//! and status), request ids (`x-request-id` on every response) and one tracing span per request.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, RwLock};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::Router;
use axum::extract::MatchedPath;
use http::{Method, Request, Response};
use metrics::{Counter, Gauge, Histogram};
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::shared::SharedMetrics;

/// The route label of requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Records the shared HTTP metrics for every request that passes through it. Add it with
/// `Router::layer` so it runs after routing and sees [`MatchedPath`].
///
/// The per-request path is kept free of allocation, string hashing, reference counting and
/// recorder look-ups (see docs/benchmarks.md): label strings and metric handles are built once per
/// (route, method, status) and found again by route, then by method and status.
#[derive(Clone)]
pub struct HttpMetricsLayer {
    state: Arc<LayerState>,
}

struct LayerState {
    metrics: &'static SharedMetrics,
    /// Resolved on the first request, once the service has installed its recorder.
    in_flight: OnceLock<&'static Gauge>,
    /// Kept for the life of the process, like the series they feed: one per route template, a
    /// bounded set (labels never carry raw paths).
    routes: RwLock<HashMap<Arc<str>, &'static RouteHandles>>,
}

/// The handles of one route template, per (method, status) seen so far: a route sees few.
struct RouteHandles {
    route: Arc<str>,
    outcomes: RwLock<Vec<(Method, u16, Handles)>>,
}

struct Handles {
    requests: Counter,
    duration: Histogram,
    errors: Option<Counter>,
}

impl Handles {
    fn record(&self, seconds: f64) {
        self.requests.increment(1);
        self.duration.record(seconds);
        if let Some(errors) = &self.errors {
            errors.increment(1);
        }
    }
}

impl HttpMetricsLayer {
    pub fn new(metrics: &'static SharedMetrics) -> Self {
        Self {
            state: Arc::new(LayerState {
                metrics,
                in_flight: OnceLock::new(),
                routes: RwLock::new(HashMap::new()),
            }),
        }
    }
}

/// Methods outside this set share one label value, so a client cannot invent label values.
fn method_label(method: &Method) -> Method {
    match *method {
        Method::GET
        | Method::POST
        | Method::PUT
        | Method::PATCH
        | Method::DELETE
        | Method::HEAD
        | Method::OPTIONS => method.clone(),
        _ => Method::from_bytes(b"OTHER").unwrap_or(Method::GET),
    }
}

impl LayerState {
    fn in_flight(&self) -> &'static Gauge {
        self.in_flight
            .get_or_init(|| Box::leak(Box::new(self.metrics.http_requests_in_flight.as_gauge())))
    }

    fn route(&self, route: &str) -> &'static RouteHandles {
        if let Some(found) = self
            .routes
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(route)
        {
            return found;
        }
        let route: Arc<str> = Arc::from(route);
        self.routes
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(route.clone())
            .or_insert_with(|| {
                Box::leak(Box::new(RouteHandles {
                    route,
                    outcomes: RwLock::new(Vec::new()),
                }))
            })
    }
}

impl RouteHandles {
    /// Records one request under its (method, status), creating the handles the first time.
    fn record(&self, metrics: &SharedMetrics, method: &Method, status: u16, seconds: f64) {
        let is_it = |(m, s, _): &&(Method, u16, Handles)| *s == status && m == method;
        {
            let outcomes = self
                .outcomes
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some((_, _, handles)) = outcomes.iter().find(is_it) {
                handles.record(seconds);
                return;
            }
        }
        let mut outcomes = self
            .outcomes
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, _, handles)) = outcomes.iter().find(is_it) {
            handles.record(seconds);
            return;
        }
        let labels = || {
            [
                ("method", method.as_str().to_owned()),
                ("route", self.route.to_string()),
                ("status", status.to_string()),
            ]
        };
        let handles = Handles {
            requests: metrics.http_requests.counter_with(labels()),
            duration: metrics.http_request_duration.histogram_with(labels()),
            errors: (status >= 500).then(|| metrics.http_errors.counter_with(labels())),
        };
        handles.record(seconds);
        outcomes.push((method.clone(), status, handles));
    }
}

impl<S> Layer<S> for HttpMetricsLayer {
    type Service = HttpMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpMetricsService {
            inner,
            state: self.state.clone(),
            last_route: Arc::new(OnceLock::new()),
        }
    }
}

#[derive(Clone)]
pub struct HttpMetricsService<S> {
    inner: S,
    state: Arc<LayerState>,
    /// `Router::layer` wraps each route's endpoint separately, so an instance (and its clones)
    /// nearly always sees one route: its handles are kept here to skip the shared map.
    last_route: Arc<OnceLock<&'static RouteHandles>>,
}

impl<S> HttpMetricsService<S> {
    fn route(&self, route: &str) -> &'static RouteHandles {
        match self.last_route.get() {
            Some(handles) if handles.route.as_ref() == route => handles,
            _ => {
                let handles = self.state.route(route);
                let _ = self.last_route.set(handles);
                handles
            }
        }
    }
}

/// Decrements the in-flight gauge however the request ends, cancellation included.
struct InFlight(&'static Gauge);

impl InFlight {
    fn start(gauge: &'static Gauge) -> Self {
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HttpMetricsService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let route = self.route(
            request
                .extensions()
                .get::<MatchedPath>()
                .map_or(UNMATCHED_ROUTE, MatchedPath::as_str),
        );
        let method = method_label(request.method());
        let in_flight = InFlight::start(self.state.in_flight());
        ResponseFuture {
            started: Instant::now(),
            inner: self.inner.call(request),
            route,
            method,
            metrics: self.state.metrics,
            in_flight: Some(in_flight),
        }
    }
}

pin_project! {
    /// The inner service's future, timed and counted when it completes (not boxed: no allocation).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        route: &'static RouteHandles,
        method: Method,
        metrics: &'static SharedMetrics,
        in_flight: Option<InFlight>,
        started: Instant,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let elapsed = this.started.elapsed().as_secs_f64();
        this.in_flight.take();
        // An Err here is a service error axum turns into a 500 elsewhere; count what we saw.
        let status = result
            .as_ref()
            .map_or(500, |response| response.status().as_u16());
        this.route
            .record(this.metrics, this.method, status, elapsed);
        Poll::Ready(result)
    }
}

/// One tracing span per API request, carrying the method, the path without its query string (which
/// may hold an access token) and the request id; a line per response at debug, failures at warn.
pub fn with_request_tracing(router: Router) -> Router {
    let trace = TraceLayer::new_for_http()
        .on_response(DefaultOnResponse::new().level(Level::DEBUG))
        .on_failure(DefaultOnFailure::new().level(Level::WARN))
        .make_span_with(|request: &Request<_>| {
            let request_id = request
                .headers()
                .get("x-request-id")
                .and_then(|value| value.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!(
                "http_request",
                method = %request.method(),
                path = %request.uri().path(),
                request_id = %request_id,
            )
        });
    router.layer(trace)
}

/// Gives every request an `x-request-id` (kept when the client sent one) and echoes it on the response.
pub fn with_request_ids(router: Router) -> Router {
    router
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use http::StatusCode;
    use metrics_exporter_prometheus::PrometheusBuilder;
    use tower::ServiceExt;

    #[test]
    fn requests_are_counted_per_route_method_and_status_and_nowhere_else() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            runtime.block_on(async {
                let router = Router::new()
                    .route(
                        "/items/{id}",
                        get(|| async { "ok" }).post(|| async { "made" }),
                    )
                    .route("/fail", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
                    .layer(HttpMetricsLayer::new(SharedMetrics::for_prefix(
                        "layertest",
                    )));
                for (method, path) in [
                    (Method::GET, "/items/1"),
                    (Method::GET, "/items/2"),
                    (Method::POST, "/items/3"),
                    (Method::GET, "/fail"),
                    (Method::GET, "/items/4"),
                ] {
                    let request = Request::builder()
                        .method(method)
                        .uri(path)
                        .body(Body::empty());
                    router.clone().oneshot(request.unwrap()).await.unwrap();
                }
            });
        });
        let text = handle.render();
        let count = |labels: &str| {
            text.lines()
                .find(|line| {
                    line.starts_with(&format!("layertest_http_requests_total{{{labels}}}"))
                })
                .and_then(|line| line.rsplit(' ').next())
                .map(str::to_owned)
        };
        assert_eq!(
            count(r#"method="GET",route="/items/{id}",status="200""#).as_deref(),
            Some("3"),
            "{text}"
        );
        assert_eq!(
            count(r#"method="POST",route="/items/{id}",status="200""#).as_deref(),
            Some("1"),
            "{text}"
        );
        assert_eq!(
            count(r#"method="GET",route="/fail",status="500""#).as_deref(),
            Some("1"),
            "{text}"
        );
        assert!(
            text.contains(
                r#"layertest_http_errors_total{method="GET",route="/fail",status="500"} 1"#
            ),
            "{text}"
        );
        assert!(
            !text.contains(r#"layertest_http_errors_total{method="GET",route="/items"#),
            "{text}"
        );
        assert!(
            text.contains("layertest_http_requests_in_flight 0"),
            "{text}"
        );
    }

    #[test]
    fn unknown_methods_share_one_label() {
        let custom = Method::from_bytes(b"BREW").unwrap_or(Method::GET);
        assert_eq!(method_label(&custom).as_str(), "OTHER");
        assert_eq!(method_label(&Method::PATCH), Method::PATCH);
    }
}
