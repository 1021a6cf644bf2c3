//! Extractors whose rejections use the error envelope (axum's own answer in plain text).

use axum::extract::{FromRequest, FromRequestParts, Request};
use fechatter_http::ApiError;
use http::StatusCode;
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::AppError;

#[derive(Debug, Clone, Copy)]
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|rejection| AppError::bad_request("invalid_path", rejection.body_text()))
    }
}

/// A JSON object body: [`fechatter_http::Json`]'s rejections, and 422 `invalid_body` for any
/// other JSON value (serde would otherwise read a struct from an array of its fields).
#[derive(Debug, Clone, Copy)]
pub struct JsonObject<T>(pub T);

impl<S, T> FromRequest<S> for JsonObject<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let invalid = |message: String| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", message)
        };
        let fechatter_http::Json(value) =
            fechatter_http::Json::<serde_json::Value>::from_request(request, state).await?;
        if !value.is_object() {
            return Err(invalid("the body must be a JSON object".to_owned()));
        }
        if has_nul(&value) {
            return Err(invalid(NUL_MESSAGE.to_owned()));
        }
        serde_json::from_value(value)
            .map(JsonObject)
            .map_err(|err| invalid(err.to_string()))
    }
}

pub(crate) const NUL_MESSAGE: &str = "text may not contain NUL characters";

/// Whether any string in `value` (keys included) holds a NUL character, which Postgres text
/// cannot store.
pub(crate) fn has_nul(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(fields) => fields
            .iter()
            .any(|(key, value)| key.contains('\0') || has_nul(value)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_anywhere_in_a_body_is_found() {
        assert!(has_nul(&serde_json::json!({"a": ["x", {"b": "y\u{0}"}]})));
        assert!(has_nul(&serde_json::json!({"\u{0}": 1})));
        assert!(!has_nul(
            &serde_json::json!({"a": ["x", {"b": "y"}], "n": null})
        ));
    }
}
