//! One tracing span per API request, carrying the method, the path without its query string (which
//! may hold an access token) and the request id; a line per response at debug, server errors at
//! warn.
//!
//! The span covers the handler, up to the response's head. tower-http's `TraceLayer` also wraps the
//! body and enters the span and reads the clock twice for every frame: on an SSE stream that is
//! every event delivered to every connection, about 3 % of notify_server's CPU in a fan-out
//! (docs/benchmarks.md, Profiles: SSE fan-out), for spans nothing logs in.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::Router;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tracing::Span;

/// Wraps every route of `router` in a request span (see the module's documentation).
pub fn with_request_tracing(router: Router) -> Router {
    router.layer(RequestSpanLayer)
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RequestSpanLayer;

impl<S> Layer<S> for RequestSpanLayer {
    type Service = RequestSpan<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestSpan { inner }
    }
}

#[derive(Debug, Clone)]
pub struct RequestSpan<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestSpan<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Traced<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let request_id = request
            .headers()
            .get("x-request-id")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("-");
        let span = tracing::info_span!(
            "http_request",
            method = %request.method(),
            path = %request.uri().path(),
            request_id = %request_id,
        );
        let inner = span.in_scope(|| self.inner.call(request));
        Traced {
            inner,
            span,
            started: Instant::now(),
        }
    }
}

pin_project! {
    /// The handler's future inside its request span, logging the response when it completes.
    pub struct Traced<F> {
        #[pin]
        inner: F,
        span: Span,
        started: Instant,
    }
}

impl<F, ResBody, E> Future for Traced<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let result = ready!(this.inner.poll(cx));
        let latency = this.started.elapsed();
        match &result {
            Ok(response) if response.status().is_server_error() => tracing::warn!(
                status = response.status().as_u16(),
                ?latency,
                "request failed"
            ),
            Ok(response) => tracing::debug!(
                status = response.status().as_u16(),
                ?latency,
                "request finished"
            ),
            Err(_) => tracing::warn!(?latency, "request failed without a response"),
        }
        Poll::Ready(result)
    }
}
