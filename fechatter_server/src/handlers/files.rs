use std::time::Instant;

use axum::body::Body;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Response};
use fechatter_events::FileId;
use fechatter_http::Json;
use futures::TryStreamExt;
use http::{HeaderValue, StatusCode, header};
use tokio_util::io::ReaderStream;

use crate::auth::CurrentUser;
use crate::deps::Deps;
use crate::error::AppError;
use crate::extract::Path;
use crate::models::file::FileInfo;
use crate::openapi::UploadForm;
use crate::openapi::responses::{
    BadParameters, ErrorBody, NotFound, ServerErrors, Unauthenticated,
};
use crate::service;
use crate::storage::FileStore;

/// The multipart part that carries the file.
pub const FILE_FIELD: &str = "file";
/// Uploads have a request deadline of their own (`FECHATTER_UPLOAD_TIMEOUT_MS`).
pub const UPLOAD_ROUTE: &str = "/api/files";

fn multipart_error(err: MultipartError) -> AppError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::TooLarge("the upload is larger than allowed".to_owned());
    }
    AppError::bad_request("invalid_multipart", err.body_text())
}

fn multipart_rejection(rejection: MultipartRejection) -> AppError {
    AppError::UnsupportedMediaType {
        code: "unsupported_media_type",
        message: format!(
            "expected Content-Type: multipart/form-data with a boundary ({})",
            rejection.body_text()
        ),
    }
}

async fn receive(
    deps: &Deps,
    store: &FileStore,
    caller: &CurrentUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<FileInfo, AppError> {
    let mut multipart = multipart.map_err(multipart_rejection)?;
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() != Some(FILE_FIELD) {
            continue;
        }
        let name = field.file_name().map(str::to_owned);
        let body = field.map_err(multipart_error);
        return service::files::upload(deps, store, caller, name.as_deref(), body).await;
    }
    Err(AppError::bad_request(
        "missing_file",
        format!("the multipart body has no `{FILE_FIELD}` part"),
    ))
}

#[utoipa::path(post, path = UPLOAD_ROUTE, tag = "files", security(("bearer" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored; the type is the one detected from the bytes", body = FileInfo),
        (status = 400, description = "Malformed multipart, or no `file` part", body = ErrorBody),
        (status = 413, description = "The file is larger than allowed (`payload_too_large`), or would exceed the uploader's or the workspace's storage quota (`quota_exceeded`)", body = ErrorBody),
        (status = 415, description = "Not multipart, or content of a type that is not accepted", body = ErrorBody),
        (status = 422, description = "An empty file", body = ErrorBody),
        Unauthenticated, ServerErrors))]
pub async fn upload(
    State(deps): State<Deps>,
    State(store): State<FileStore>,
    caller: CurrentUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<FileInfo>), AppError> {
    let started = Instant::now();
    let result = receive(&deps, &store, &caller, multipart).await;
    service::files::record(&result, started.elapsed());
    Ok((StatusCode::CREATED, Json(result?)))
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266): an ASCII fallback and the exact name.
fn content_disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[utoipa::path(get, path = "/api/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The file")),
    responses(
        (status = 200, description = "The file's bytes, as an attachment"),
        NotFound, BadParameters, Unauthenticated, ServerErrors))]
pub async fn download(
    State(deps): State<Deps>,
    State(store): State<FileStore>,
    caller: CurrentUser,
    Path(id): Path<FileId>,
) -> Result<Response, AppError> {
    let (file, content) = service::files::open(&deps, &store, &caller, id).await?;
    let content_type = if file.content_type.starts_with("text/") {
        format!("{}; charset=utf-8", file.content_type)
    } else {
        file.content_type.clone()
    };
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_str(&content_type)
                .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
        ),
        (header::CONTENT_LENGTH, HeaderValue::from(file.size_bytes)),
        (
            header::CONTENT_DISPOSITION,
            content_disposition(&file.filename),
        ),
        // Served bytes are never interpreted as anything else, nor run if opened inline.
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("private")),
    ];
    Ok((headers, Body::from_stream(ReaderStream::new(content))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_download_is_named_in_ascii_and_in_utf8() {
        assert_eq!(
            content_disposition("résumé \"v2\".pdf"),
            "attachment; filename=\"r_sum_ _v2_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.pdf"
        );
    }
}
