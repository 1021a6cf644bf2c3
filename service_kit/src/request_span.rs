//! One tracing span per API request, carrying the method, the path without its query string (which
//! may hold an access token) and the request id; a line per response at debug, server errors at
//! warn.
//!
//! The span covers the handler, up to the response's head. tower-http's `TraceLayer` also wraps the
//! body and enters the span and reads the clock twice for every frame: on an SSE stream that is
//! every event delivered to every connection, about 3 % of notify_server's CPU in a fan-out
//! (docs/benchmarks.md, Profiles: SSE fan-out), for spans nothing logs in.

use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use tracing::Instrument;

/// Wraps every route of `router` in a request span (see the module's documentation).
pub fn with_request_tracing(router: Router) -> Router {
    router.layer(middleware::from_fn(traced))
}

async fn traced(request: Request, next: Next) -> Response {
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
    async move {
        let started = Instant::now();
        let response = next.run(request).await;
        let (status, latency) = (response.status(), started.elapsed());
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), ?latency, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), ?latency, "request finished");
        }
        response
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::routing::get;
    use test_support::CapturedLogs;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_server_error_is_logged_at_warn_in_a_span_with_the_request_id_and_no_query_string() {
        let (logs, _guard) = CapturedLogs::install("service_kit=debug");
        let router = with_request_tracing(
            Router::new()
                .route("/ok", get(|| async { "fine" }))
                .route("/broken", get(|| async { StatusCode::BAD_GATEWAY })),
        );
        for path in ["/ok?access_token=secret", "/broken?access_token=secret"] {
            let request = Request::get(path)
                .header("x-request-id", "req-7")
                .body(Body::empty())
                .unwrap_or_default();
            let _ = router.clone().oneshot(request).await;
        }

        let lines = logs.lines();
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(
            lines[0].contains("DEBUG")
                && lines[0].contains("path=/ok")
                && lines[0].contains("status=200"),
            "{lines:#?}"
        );
        assert!(
            lines[1].contains("WARN")
                && lines[1].contains("path=/broken")
                && lines[1].contains("status=502"),
            "{lines:#?}"
        );
        assert!(
            lines.iter().all(|line| line.contains("request_id=req-7")
                && line.contains("method=GET")
                && !line.contains("secret")),
            "{lines:#?}"
        );
    }
}
