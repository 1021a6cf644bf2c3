//! `Json` and `Query` extractors whose rejections use the error envelope instead of axum's plain
//! text: malformed JSON → 400 `malformed_json`, wrong types or unknown fields → 422
//! `invalid_body`, missing content type → 415, a body over the limit → 413.

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderMap, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// A JSON body; also a JSON response.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(err) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                err.body_text(),
            ),
            JsonRejection::JsonSyntaxError(err) => {
                ApiError::bad_request("malformed_json", err.body_text())
            }
            JsonRejection::MissingJsonContentType(_) => unsupported_media_type(),
            JsonRejection::BytesRejection(err) if err.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::payload_too_large("the request body is larger than allowed")
            }
            other => ApiError::bad_request("invalid_body", other.body_text()),
        }
    }
}

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(request.headers()) {
            return Err(unsupported_media_type());
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|err| ApiError::from(JsonRejection::from(err)))?;
        // axum's own parse tracks the path to the field at fault, keeping each object key it
        // passes as an owned string, on every body (3 % of analytics' samples during ingest, on
        // its own). Only a body that fails pays for it, parsed again for the message; a refusal
        // that the second parse did not repeat cannot happen (same bytes, same deserializer) and is
        // answered as malformed.
        match serde_json::from_slice(&body) {
            Ok(value) => Ok(Json(value)),
            Err(plain) => Err(axum::Json::<T>::from_bytes(&body).err().map_or_else(
                || ApiError::bad_request("malformed_json", plain.to_string()),
                ApiError::from,
            )),
        }
    }
}

/// `application/json` or any `application/*+json`, as axum's own `Json` accepts.
fn json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<mime::Mime>().ok())
        .is_some_and(|mime| {
            mime.type_() == "application"
                && (mime.subtype() == "json" || mime.suffix().is_some_and(|name| name == "json"))
        })
}

fn unsupported_media_type() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "expected a request with Content-Type: application/json",
    )
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Query parameters; a bad value is a 400 `invalid_query` in the envelope.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request("invalid_query", rejection.body_text())
    }
}

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Query(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::post;
    use http_body_util::BodyExt;
    use serde::Deserialize;
    use serde_json::json;
    use tower::ServiceExt;

    #[derive(Deserialize, Serialize)]
    #[serde(deny_unknown_fields)]
    struct Input {
        name: String,
    }

    async fn echo(Json(input): Json<Input>) -> Json<Input> {
        Json(input)
    }

    async fn send(content_type: &str, body: &'static str) -> (StatusCode, serde_json::Value) {
        let app = Router::new()
            .route("/", post(echo))
            .layer(axum::extract::DefaultBodyLimit::max(64));
        let request = Request::post("/")
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap_or_default();
        let response = app
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        )
    }

    #[tokio::test]
    async fn malformed_json_is_a_400_in_the_envelope() {
        let (status, json) = send("application/json", "{\"name\":").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(json["code"], "malformed_json");
    }

    #[tokio::test]
    async fn wrong_types_and_unknown_fields_are_422() {
        let (status, json) = send("application/json", "{\"name\":5}").await;
        assert_eq!(
            (status, json["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
        );
        let (status, _) = send("application/json", "{\"name\":\"a\",\"admin\":true}").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[tokio::test]
    async fn a_refused_field_is_named_by_its_path() {
        let (_, json) = send("application/json", "{\"name\":5}").await;
        let message = json["message"].as_str().unwrap_or_default();
        assert!(message.contains("name: invalid type"), "{message}");
    }

    #[tokio::test]
    async fn json_with_parameters_or_a_json_suffix_is_accepted() {
        for content_type in [
            "application/json; charset=utf-8",
            "application/vnd.api+json",
        ] {
            let (status, json) = send(content_type, "{\"name\":\"a\"}").await;
            assert_eq!((status, &json["name"]), (StatusCode::OK, &json!("a")));
        }
    }

    #[tokio::test]
    async fn a_missing_content_type_is_415() {
        let (status, json) = send("text/plain", "{\"name\":\"a\"}").await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(json["code"], "unsupported_media_type");
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_413() {
        let big = "{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}";
        let (status, json) = send("application/json", big).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(json["code"], "payload_too_large");
    }
}
