use axum::Json as AxumJson;
use axum::response::{IntoResponse, Response};
use fechatter_auth::TokenError;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Map, Value};

/// An error as the client sees it: a status, a stable snake_case `code`, a human `message`, and
/// optional extra fields (e.g. `retry_after_ms`).
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    extra: Map<String, Value>,
    headers: HeaderMap,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            extra: Map::new(),
            headers: HeaderMap::new(),
        }
    }

    /// Adds a field beside `code` and `message`.
    pub fn with_extra(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    /// 503 for a dependency that is down; the message never names internals.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            message,
        )
    }

    /// 500 whose body says nothing of the cause; the cause goes to the log.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "something went wrong on our side",
        )
    }

    /// 429 with `Retry-After` (whole seconds, rounded up) and `retry_after_ms`.
    pub fn rate_limited(retry_after: std::time::Duration) -> Self {
        let millis = retry_after.as_millis().max(1) as u64;
        let seconds = millis.div_ceil(1000);
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests; slow down",
        )
        .with_extra("retry_after_ms", millis)
        .with_header(header::RETRY_AFTER, HeaderValue::from(seconds))
    }

    /// 401 with `WWW-Authenticate: Bearer`, as RFC 6750 asks.
    pub fn unauthorized(err: &TokenError) -> Self {
        let (code, challenge) = match err {
            TokenError::Missing => ("unauthenticated", "Bearer"),
            TokenError::Expired => (
                "token_expired",
                "Bearer error=\"invalid_token\", error_description=\"expired\"",
            ),
            TokenError::Malformed | TokenError::Invalid => {
                ("invalid_token", "Bearer error=\"invalid_token\"")
            }
            // The same code fechatter_server answers a signed-out session's token with.
            TokenError::Revoked => ("session_revoked", "Bearer error=\"invalid_token\""),
        };
        Self::new(StatusCode::UNAUTHORIZED, code, err.to_string()).with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl ApiError {
    /// The envelope `{"code", "message", ...extra}`, for transports other than an HTTP response
    /// (a WebSocket error frame).
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("code".into(), self.code.into());
        body.insert("message".into(), self.message.clone().into());
        body.extend(self.extra.clone());
        Value::Object(body)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        (self.status, self.headers, AxumJson(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body(error: ApiError) -> (StatusCode, HeaderMap, Value) {
        let response = error.into_response();
        let (parts, body) = response.into_parts();
        let bytes = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (parts.status, parts.headers, value)
    }

    #[tokio::test]
    async fn a_rate_limit_error_carries_retry_after_in_header_and_body() {
        let (status, headers, json) = body(ApiError::rate_limited(
            std::time::Duration::from_millis(1200),
        ))
        .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(headers[header::RETRY_AFTER], "2");
        assert_eq!(json["code"], "rate_limited");
        assert_eq!(json["retry_after_ms"], 1200);
    }

    #[tokio::test]
    async fn an_internal_error_hides_its_cause() {
        let (status, _, json) = body(ApiError::internal(&"password=hunter2")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!json.to_string().contains("hunter2"));
    }

    #[tokio::test]
    async fn unauthorized_sets_a_bearer_challenge() {
        let (status, headers, json) = body(ApiError::unauthorized(&TokenError::Expired)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(
            headers[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap_or_default()
                .starts_with("Bearer")
        );
        assert_eq!(json["code"], "token_expired");
    }
}
