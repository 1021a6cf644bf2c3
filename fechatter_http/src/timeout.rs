//! A deadline on each request, from its arrival at its route until its response starts: a handler
//! stuck on a dependency, or a client trickling its body, cannot hold a task and a connection for
//! ever. Streamed response bodies (SSE, downloads) and WebSockets after the upgrade are outside it,
//! since their handlers return as soon as the response starts.
//!
//! Add it with `Router::layer` before the metrics layer, so it runs after routing (it picks a
//! route's own deadline by its template) and the 408 it answers is counted.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::MatchedPath;
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use http::{HeaderValue, Request, StatusCode, header};
use tower::{Layer, Service};

use crate::ApiError;

#[derive(Debug, Clone)]
pub struct RequestTimeoutLayer {
    default: Duration,
    /// Route templates with deadlines of their own (uploads).
    routes: Arc<HashMap<&'static str, Duration>>,
}

impl RequestTimeoutLayer {
    pub fn new(default: Duration) -> Self {
        Self {
            default,
            routes: Arc::new(HashMap::new()),
        }
    }

    /// A deadline for the route `template` (as registered, e.g. `/api/files`) instead of the
    /// default.
    pub fn route(mut self, template: &'static str, timeout: Duration) -> Self {
        Arc::make_mut(&mut self.routes).insert(template, timeout);
        self
    }
}

impl<S> Layer<S> for RequestTimeoutLayer {
    type Service = RequestTimeout<S>;

    fn layer(&self, inner: S) -> RequestTimeout<S> {
        RequestTimeout {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RequestTimeout<S> {
    inner: S,
    layer: RequestTimeoutLayer,
}

/// 408 in the envelope; the connection is closed, since the request may not have been read whole.
fn timed_out(after: Duration) -> Response {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        format!(
            "the request took longer than {} ms; try again",
            after.as_millis()
        ),
    )
    .with_header(header::CONNECTION, HeaderValue::from_static("close"))
    .into_response()
}

impl<S, B> Service<Request<B>> for RequestTimeout<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let deadline = request
            .extensions()
            .get::<MatchedPath>()
            .and_then(|path| self.layer.routes.get(path.as_str()))
            .copied()
            .unwrap_or(self.layer.default);
        let response = self.inner.call(request);
        Box::pin(async move {
            match tokio::time::timeout(deadline, response).await {
                Ok(response) => response,
                Err(_) => {
                    tracing::info!(?deadline, "request timed out");
                    Ok(timed_out(deadline))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_millis(300)).await;
        "done"
    }

    async fn call(app: &Router, path: &str) -> (StatusCode, HeaderValue, serde_json::Value) {
        let request = Request::get(path).body(Body::empty()).unwrap_or_default();
        let response = app
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});
        let status = response.status();
        let connection = response
            .headers()
            .get(header::CONNECTION)
            .cloned()
            .unwrap_or(HeaderValue::from_static(""));
        let bytes = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, connection, body)
    }

    #[tokio::test]
    async fn a_request_over_its_deadline_gets_408_in_the_envelope_unless_its_route_allows_longer() {
        let app = Router::new()
            .route("/slow", get(slow))
            .route("/upload", get(slow))
            .layer(
                RequestTimeoutLayer::new(Duration::from_millis(50))
                    .route("/upload", Duration::from_secs(5)),
            );
        let (status, connection, body) = call(&app, "/slow").await;
        assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
        assert_eq!(body["code"], "request_timeout");
        assert_eq!(connection, "close");
        let (status, _, body) = call(&app, "/upload").await;
        assert_eq!((status, body), (StatusCode::OK, "done".into()));
    }
}
