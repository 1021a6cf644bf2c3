//! Request instrumentation: the metrics layer (`{service}_http_*`, labelled by method, route template
//! and status) and request ids (`x-request-id` on every response); the request span is in
//! `request_span`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::Router;
use axum::extract::MatchedPath;
use http::{Method, Request, Response};
use metrics::{Counter, Gauge, Histogram};
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::shared::SharedMetrics;

/// The route label of requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Records the shared HTTP metrics for every request that passes through it. Add it with
/// `Router::layer` so it runs after routing and sees [`MatchedPath`].
///
/// The per-request path is kept free of allocation, string hashing, locks and recorder look-ups
/// (see docs/benchmarks.md, "Profiles"): label strings and metric handles are built once per
/// (route, method, status) and found again by route, then by method and status, without locking.
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

/// (method, status) outcomes a route keeps in place; a route sees few, the rest go to `overflow`.
const OUTCOME_SLOTS: usize = 8;

/// The handles of one route template, per (method, status) seen so far.
struct RouteHandles {
    route: Arc<str>,
    metrics: &'static SharedMetrics,
    /// Filled in order and never emptied, so a request finds its outcome without a lock.
    slots: [OnceLock<Outcome>; OUTCOME_SLOTS],
    /// Outcomes past the slots.
    overflow: RwLock<Vec<Outcome>>,
    /// Held while an outcome is created, so none is created twice.
    creating: Mutex<()>,
}

struct Outcome {
    method: MethodLabel,
    status: u16,
    handles: Handles,
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

/// A `method` label value: one of [`METHODS`]. Methods outside the set share `OTHER`, so a
/// client cannot invent label values.
type MethodLabel = u8;

const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "OTHER",
];

fn method_label(method: &Method) -> MethodLabel {
    match *method {
        Method::GET => 0,
        Method::POST => 1,
        Method::PUT => 2,
        Method::PATCH => 3,
        Method::DELETE => 4,
        Method::HEAD => 5,
        Method::OPTIONS => 6,
        _ => 7,
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
                    metrics: self.metrics,
                    slots: std::array::from_fn(|_| OnceLock::new()),
                    overflow: RwLock::new(Vec::new()),
                    creating: Mutex::new(()),
                }))
            })
    }
}

impl RouteHandles {
    /// Records into the outcome's handles if it exists; whether it did.
    fn record_existing(&self, method: MethodLabel, status: u16, seconds: f64) -> bool {
        let is_it = |o: &Outcome| o.status == status && o.method == method;
        for slot in &self.slots {
            match slot.get() {
                Some(outcome) if is_it(outcome) => {
                    outcome.handles.record(seconds);
                    return true;
                }
                Some(_) => {}
                // Slots fill in order: the overflow is only used once every slot is set.
                None => return false,
            }
        }
        let overflow = self
            .overflow
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match overflow.iter().find(|o| is_it(o)) {
            Some(outcome) => {
                outcome.handles.record(seconds);
                true
            }
            None => false,
        }
    }

    /// Records one request under its (method, status), creating the handles the first time.
    fn record(&self, method: MethodLabel, status: u16, seconds: f64) {
        if self.record_existing(method, status, seconds) {
            return;
        }
        let _creating = self
            .creating
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.record_existing(method, status, seconds) {
            return;
        }
        let labels = || {
            [
                ("method", METHODS[usize::from(method)].to_owned()),
                ("route", self.route.to_string()),
                ("status", status.to_string()),
            ]
        };
        let metrics = self.metrics;
        let outcome = Outcome {
            method,
            status,
            handles: Handles {
                requests: metrics.http_requests.counter_with(labels()),
                duration: metrics.http_request_duration.histogram_with(labels()),
                errors: (status >= 500).then(|| metrics.http_errors.counter_with(labels())),
            },
        };
        outcome.handles.record(seconds);
        match self.slots.iter().find(|slot| slot.get().is_none()) {
            Some(slot) => {
                let _ = slot.set(outcome);
            }
            None => self
                .overflow
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(outcome),
        }
    }
}

impl<S> Layer<S> for HttpMetricsLayer {
    type Service = HttpMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpMetricsService {
            inner,
            shared: Arc::new(ServiceShared {
                state: self.state.clone(),
                last_route: OnceLock::new(),
            }),
        }
    }
}

/// axum clones a route's service for every request: one reference count to touch, not two.
struct ServiceShared {
    state: Arc<LayerState>,
    /// `Router::layer` wraps each route's endpoint separately, so an instance (and its clones)
    /// nearly always sees one route: its handles are kept here to skip the shared map.
    last_route: OnceLock<&'static RouteHandles>,
}

#[derive(Clone)]
pub struct HttpMetricsService<S> {
    inner: S,
    shared: Arc<ServiceShared>,
}

impl<S> HttpMetricsService<S> {
    fn route(&self, route: &str) -> &'static RouteHandles {
        match self.shared.last_route.get() {
            Some(handles) if handles.route.as_ref() == route => handles,
            _ => {
                let handles = self.shared.state.route(route);
                let _ = self.shared.last_route.set(handles);
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
        let in_flight = InFlight::start(self.shared.state.in_flight());
        ResponseFuture {
            started: Instant::now(),
            inner: self.inner.call(request),
            route,
            method,
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
        method: MethodLabel,
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
        this.route.record(*this.method, status, elapsed);
        Poll::Ready(result)
    }
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
    fn a_route_answering_more_statuses_than_it_keeps_in_place_counts_each_once() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let statuses: Vec<u16> = (200..200 + OUTCOME_SLOTS as u16 + 4).collect();
        metrics::with_local_recorder(&recorder, || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            runtime.block_on(async {
                let router = Router::new()
                    .route(
                        "/status/{code}",
                        get(
                            |axum::extract::Path(code): axum::extract::Path<u16>| async move {
                                StatusCode::from_u16(code).unwrap()
                            },
                        ),
                    )
                    .layer(HttpMetricsLayer::new(SharedMetrics::for_prefix(
                        "overflowtest",
                    )));
                for round in 0..2 {
                    for code in &statuses {
                        let request = Request::get(format!("/status/{code}")).body(Body::empty());
                        let response = router.clone().oneshot(request.unwrap()).await.unwrap();
                        assert_eq!(response.status().as_u16(), *code, "round {round}");
                    }
                }
            });
        });
        let text = handle.render();
        for code in &statuses {
            let series = format!(
                r#"overflowtest_http_requests_total{{method="GET",route="/status/{{code}}",status="{code}"}} 2"#
            );
            assert!(text.contains(&series), "{series} in\n{text}");
        }
    }

    #[test]
    fn unknown_methods_share_one_label() {
        let custom = Method::from_bytes(b"BREW").unwrap_or(Method::GET);
        assert_eq!(METHODS[usize::from(method_label(&custom))], "OTHER");
        assert_eq!(METHODS[usize::from(method_label(&Method::PATCH))], "PATCH");
    }
}
