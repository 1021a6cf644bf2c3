//! What the OpenAPI document (`GET /api/openapi.json`) says besides the routes' own operations:
//! its title and tags, the shared schemas and error responses, the security schemes, the health
//! endpoints and the examples. The operations come with the routes (`crate::routes`).

pub mod examples;
pub mod health;
pub mod markdown;
pub mod responses;

use utoipa::openapi::path::PathItem;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Spec, RefOr, ResponseBuilder};
use utoipa::{IntoResponses, OpenApi, ToSchema};

use crate::storage::sniff;

/// The body of `POST /api/files`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Describes the multipart form the handler reads field by field.
pub struct UploadForm {
    /// The file; its name is kept, its type is detected from its bytes.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Fechatter API",
        description = "The chat API of Fechatter. Errors share one envelope, `ErrorBody`."
    ),
    components(schemas(responses::ErrorBody, fechatter_events::Envelope)),
    tags(
        (name = "auth", description = "Accounts, sessions and invites"),
        (name = "users", description = "The workspace directory and statuses"),
        (name = "chats", description = "Chats and their members"),
        (name = "messages", description = "Messages, their edit history, threads, reactions, pins and read markers"),
        (name = "webhooks", description = "Incoming webhooks (integrations posting into a chat) and outgoing webhooks (a chat's events delivered to a URL)"),
        (name = "files", description = "Uploads and downloads"),
        (name = "search", description = "Full-text search of the caller's chats"),
        (name = "realtime", description = "The WebSocket"),
        (name = "meta", description = "This document"),
        (name = "health", description = "Liveness, readiness and health (never authenticated or rate limited)"),
    )
)]
pub struct ApiDoc;

/// Adds the 429 of a rate-limited route to each operation of `item`, unless it describes its own.
pub fn document_rate_limit(item: &mut PathItem) {
    let operations = [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.patch,
        &mut item.delete,
    ];
    for operation in operations.into_iter().flatten() {
        for (status, response) in responses::RateLimited::responses() {
            operation
                .responses
                .responses
                .entry(status)
                .or_insert(response);
        }
    }
}

/// Completes the document once the routes are in: the bearer schemes, the download's content
/// types (the types uploads may have), and the health endpoints.
pub fn complete(openapi: &mut Spec) {
    health::document(openapi);
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    components.add_security_scheme(
        "bot_api_key",
        SecurityScheme::Http(Http::builder().scheme(HttpAuthScheme::Bearer).build()),
    );
    let download = openapi
        .paths
        .paths
        .get_mut("/api/files/{id}")
        .and_then(|item| item.get.as_mut());
    if let Some(operation) = download {
        let mut response = ResponseBuilder::new()
            .description("The file's bytes, as an attachment, with the type detected at upload");
        for content_type in sniff::ALLOWED {
            let media = if content_type.starts_with("text/") {
                format!("{content_type}; charset=utf-8")
            } else {
                (*content_type).to_owned()
            };
            response = response.content(media, ContentBuilder::new().build());
        }
        operation
            .responses
            .responses
            .insert("200".to_owned(), RefOr::T(response.build()));
    }
}
