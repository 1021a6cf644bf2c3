//! Request instrumentation: the metrics layer (`{service}_http_*`, labelled by method, route template
//! and status), request ids (`x-request-id` on every response) and one tracing span per request.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::extract::MatchedPath;
use http::{Method, Request, Response};
use metrics::{Counter, Histogram};
use tower::{Layer, Service};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::shared::SharedMetrics;

/// The route label of requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Records the shared HTTP metrics for every request that passes through it. Add it with
/// `Router::layer` so it runs after routing and sees [`MatchedPath`].
#[derive(Clone)]
pub struct HttpMetricsLayer {
    state: Arc<LayerState>,
}

struct LayerState {
    metrics: &'static SharedMetrics,
    /// Handles per (method, route, status): label strings are built once, not per request.
    handles: RwLock<HashMap<HandleKey, Arc<Handles>>>,
}

/// (method, route template, status)
type HandleKey = (Method, Arc<str>, u16);

struct Handles {
    requests: Counter,
    duration: Histogram,
    errors: Option<Counter>,
}

impl HttpMetricsLayer {
    pub fn new(metrics: &'static SharedMetrics) -> Self {
        Self {
            state: Arc::new(LayerState {
                metrics,
                handles: RwLock::new(HashMap::new()),
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
    fn handles(&self, method: Method, route: Arc<str>, status: u16) -> Arc<Handles> {
        let key = (method, route, status);
        if let Some(found) = self
            .handles
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&key)
        {
            return found.clone();
        }
        let (method, route, status) = key;
        let labels = || {
            [
                ("method", method.as_str().to_owned()),
                ("route", route.to_string()),
                ("status", status.to_string()),
            ]
        };
        let handles = Arc::new(Handles {
            requests: self.metrics.http_requests.counter_with(labels()),
            duration: self.metrics.http_request_duration.histogram_with(labels()),
            errors: (status >= 500).then(|| self.metrics.http_errors.counter_with(labels())),
        });
        self.handles
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry((method, route, status))
            .or_insert(handles)
            .clone()
    }
}

impl<S> Layer<S> for HttpMetricsLayer {
    type Service = HttpMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpMetricsService {
            inner,
            state: self.state.clone(),
        }
    }
}

#[derive(Clone)]
pub struct HttpMetricsService<S> {
    inner: S,
    state: Arc<LayerState>,
}

/// Decrements the in-flight gauge however the request ends, cancellation included.
struct InFlight(&'static SharedMetrics);

impl InFlight {
    fn start(metrics: &'static SharedMetrics) -> Self {
        metrics.http_requests_in_flight.as_gauge().increment(1.0);
        Self(metrics)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.http_requests_in_flight.as_gauge().decrement(1.0);
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HttpMetricsService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let route: Arc<str> = request.extensions().get::<MatchedPath>().map_or_else(
            || Arc::from(UNMATCHED_ROUTE),
            |path| Arc::from(path.as_str()),
        );
        let method = method_label(request.method());
        let state = self.state.clone();
        let in_flight = InFlight::start(state.metrics);
        let started = Instant::now();
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            let elapsed = started.elapsed().as_secs_f64();
            drop(in_flight);
            // An Err here is a service error axum turns into a 500 elsewhere; count what we saw.
            let status = result
                .as_ref()
                .map_or(500, |response| response.status().as_u16());
            let handles = state.handles(method, route, status);
            handles.requests.increment(1);
            handles.duration.record(elapsed);
            if let Some(errors) = &handles.errors {
                errors.increment(1);
            }
            result
        })
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

    #[test]
    fn unknown_methods_share_one_label() {
        let custom = Method::from_bytes(b"BREW").unwrap_or(Method::GET);
        assert_eq!(method_label(&custom).as_str(), "OTHER");
        assert_eq!(method_label(&Method::PATCH), Method::PATCH);
    }
}
