//! The HTTP conventions of `docs/design/api.md` that every service shares.
//!
//! Each service keeps its own `thiserror` enum and maps it to an [`ApiError`] in one place; this
//! crate fixes the wire shape `{"code", "message", ...extra}` and makes extractor rejections use it.

pub mod client_address;
pub mod cors;
mod error;
mod extract;
mod timeout;

pub use cors::AllowedOrigins;
pub use error::ApiError;
pub use extract::{Json, Query};
pub use timeout::{RequestTimeout, RequestTimeoutLayer};

/// The fallback of every API router: unknown routes get the JSON envelope, not axum's empty 404.
pub async fn route_not_found(uri: http::Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}
