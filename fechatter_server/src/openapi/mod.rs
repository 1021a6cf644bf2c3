//! `GET /api/openapi.json`: the API described from the code (utoipa). Every route of
//! [`crate::routes::router`] is listed in [`ApiDoc`]; a test keeps the two in step.

pub mod examples;
pub mod health;
pub mod markdown;
pub mod responses;

use std::sync::OnceLock;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Spec, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::handlers;
use crate::storage::sniff;
use crate::ws;

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
    paths(
        handlers::auth::signup,
        handlers::auth::signin,
        handlers::auth::refresh,
        handlers::auth::signout,
        handlers::auth::create_invite,
        handlers::bots::token,
        handlers::bots::provision,
        handlers::users::me,
        handlers::users::remove_me,
        handlers::users::directory,
        handlers::users::set_status,
        handlers::users::clear_status,
        handlers::chats::list,
        handlers::chats::create,
        handlers::chats::public_channels,
        handlers::chats::get,
        handlers::chats::update,
        handlers::chats::delete,
        handlers::chats::members,
        handlers::chats::add_member,
        handlers::chats::remove_member,
        handlers::chats::typing,
        handlers::messages::list,
        handlers::messages::send,
        handlers::messages::edit,
        handlers::messages::delete,
        handlers::messages::history,
        handlers::messages::add_reaction,
        handlers::messages::remove_reaction,
        handlers::messages::mark_read,
        handlers::pins::list,
        handlers::pins::pin,
        handlers::pins::unpin,
        handlers::threads::thread,
        handlers::threads::mark_read,
        handlers::threads::followed,
        handlers::webhooks::create_incoming,
        handlers::webhooks::list_incoming,
        handlers::webhooks::revoke_incoming,
        handlers::webhooks::post,
        handlers::webhooks::create_outgoing,
        handlers::webhooks::list_outgoing,
        handlers::webhooks::revoke_outgoing,
        handlers::webhooks::deliveries,
        handlers::files::upload,
        handlers::files::download,
        handlers::search::search,
        ws::connect,
        spec,
    ),
    components(schemas(
        responses::ErrorBody,
        ws::protocol::Command,
        ws::protocol::AckResult,
        fechatter_events::Envelope,
    )),
    modifiers(&SecurityAndContent),
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

/// The bearer scheme, the download's content types (the types uploads may have), and the health
/// endpoints.
struct SecurityAndContent;

impl Modify for SecurityAndContent {
    fn modify(&self, openapi: &mut Spec) {
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
            let mut response = ResponseBuilder::new().description(
                "The file's bytes, as an attachment, with the type detected at upload",
            );
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
}

/// The document with its examples, as JSON.
pub fn document_value() -> serde_json::Value {
    let mut spec = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    examples::insert(&mut spec);
    spec
}

/// The document, rendered once.
pub fn document() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| serde_json::to_string(&document_value()).unwrap_or_default())
}

#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "This OpenAPI document", content_type = "application/json", body = Object)))]
pub async fn spec() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        document(),
    )
        .into_response()
}
