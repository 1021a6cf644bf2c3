//! The API's routes, each declared once: its handler's `#[utoipa::path]` gives the method, the
//! path and the OpenAPI operation (`utoipa_axum::routes!`), and its line in [`declared`] says how
//! it is rate limited. The router and the OpenAPI document ([`document`]) are both built from
//! that list, so neither can have a route the other lacks, and a route cannot be added without
//! saying whether it is limited.

mod document;

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::routing::MethodRouter;
use fechatter_http::ApiError;
use http::StatusCode;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::handlers::{auth, bots, chats, files, messages, pins, search, threads, users, webhooks};
use crate::observability::metrics::ProtectionMetrics;
use crate::openapi::ApiDoc;
use crate::rate_limit::{self, Limit};
use crate::state::AppState;
use crate::ws;

pub use crate::handlers::files::UPLOAD_ROUTE;
pub use document::{document, document_value};

/// How a route is rate limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    Open,
    /// Each request takes one from its bucket of this limit first (`crate::rate_limit`), counted
    /// under the route's template; the operation documents the 429.
    Limited(Limit),
}

use Guard::{Limited, Open};

/// Every route, one path per line, with its guard. `upload_body_limit` bounds the multipart
/// framing of uploads (the file size limit is enforced on the file itself).
fn declared(upload_body_limit: usize) -> Vec<(Guard, UtoipaMethodRouter<AppState>)> {
    vec![
        (Limited(Limit::Signup), routes!(auth::signup)),
        (Limited(Limit::Signin), routes!(auth::signin)),
        (Limited(Limit::Refresh), routes!(auth::refresh)),
        (Open, routes!(auth::signout)),
        (Limited(Limit::Invite), routes!(auth::create_invite)),
        (Open, routes!(bots::token)),
        (Open, routes!(bots::provision)),
        (Open, routes!(users::me, users::remove_me)),
        (
            Limited(Limit::Edit),
            routes!(users::set_status, users::clear_status),
        ),
        (Open, routes!(users::directory)),
        (Open, routes!(chats::list)),
        (Limited(Limit::CreateChat), routes!(chats::create)),
        // A static segment wins over `{id}`.
        (Open, routes!(chats::public_channels)),
        (Open, routes!(chats::get)),
        (Limited(Limit::Edit), routes!(chats::update)),
        (Limited(Limit::Delete), routes!(chats::delete)),
        (Open, routes!(chats::members)),
        (Limited(Limit::Members), routes!(chats::add_member)),
        (Limited(Limit::Members), routes!(chats::remove_member)),
        (Open, routes!(chats::typing)),
        (Open, routes!(messages::list)),
        (Limited(Limit::Send), routes!(messages::send)),
        (Limited(Limit::Edit), routes!(messages::edit)),
        (Limited(Limit::Delete), routes!(messages::delete)),
        (Open, routes!(messages::history)),
        (
            Limited(Limit::React),
            routes!(messages::add_reaction, messages::remove_reaction),
        ),
        (Open, routes!(messages::mark_read)),
        (Limited(Limit::Edit), routes!(pins::pin, pins::unpin)),
        (Open, routes!(pins::list)),
        (Open, routes!(threads::thread)),
        (Open, routes!(threads::mark_read)),
        (Open, routes!(threads::followed)),
        (Open, routes!(webhooks::list_incoming)),
        (Limited(Limit::Edit), routes!(webhooks::create_incoming)),
        (Limited(Limit::Edit), routes!(webhooks::revoke_incoming)),
        (Open, routes!(webhooks::list_outgoing)),
        (Limited(Limit::Edit), routes!(webhooks::create_outgoing)),
        (Limited(Limit::Edit), routes!(webhooks::revoke_outgoing)),
        (Open, routes!(webhooks::deliveries)),
        (Limited(Limit::Webhook), routes!(webhooks::post)),
        (
            Limited(Limit::Upload),
            routes!(files::upload)
                .map(|upload| upload.layer(DefaultBodyLimit::max(upload_body_limit))),
        ),
        (Open, routes!(files::download)),
        (Limited(Limit::Search), routes!(search::search)),
        (Open, routes!(ws::connect)),
        (Open, routes!(document::spec)),
    ]
}

/// The WebSocket's frames, which no HTTP operation names.
#[derive(OpenApi)]
#[openapi(components(schemas(ws::protocol::Command, ws::protocol::AckResult)))]
struct WebSocketFrames;

/// A route template as a metric label: the templates are few and fixed, so each is kept once.
fn label(template: &str) -> &'static str {
    static LABELS: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut labels = LABELS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(label) = labels.get(template) {
        return label;
    }
    let label: &'static str = Box::leak(template.to_owned().into_boxed_str());
    labels.insert(label);
    label
}

/// The declared routes and their document; `guard` wraps the handlers of each rate-limited route
/// (given its limit and template).
fn assemble(
    upload_body_limit: usize,
    mut guard: impl FnMut(Limit, &'static str, MethodRouter<AppState>) -> MethodRouter<AppState>,
) -> OpenApiRouter<AppState> {
    let mut api =
        OpenApiRouter::with_openapi(ApiDoc::openapi().merge_from(WebSocketFrames::openapi()));
    for (kind, (schemas, mut paths, handlers)) in declared(upload_body_limit) {
        let handlers = match kind {
            Open => handlers,
            Limited(limit) => {
                let template = paths.paths.keys().next().map_or("", |path| label(path));
                for item in paths.paths.values_mut() {
                    crate::openapi::document_rate_limit(item);
                }
                guard(limit, template, handlers)
            }
        };
        api = api.routes((schemas, paths, handlers));
    }
    api
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
    )
}

pub fn router(state: AppState) -> Router {
    let body_limit = state.config().limits.max_body_bytes;
    let upload_body_limit = state.config().files.max_upload_bytes + 64 * 1024;
    let limited = state.clone();
    let api = assemble(upload_body_limit, |limit, route, handlers| {
        // Every limited route's series exists from the start.
        ProtectionMetrics::prime(route);
        let state = limited.clone();
        handlers.route_layer(middleware::from_fn(move |request: Request, next: Next| {
            let state = state.clone();
            async move {
                match rate_limit::admit(&state, limit, route, request).await {
                    Ok(request) => next.run(request).await,
                    Err(refused) => refused,
                }
            }
        }))
    });
    Router::from(api)
        .fallback(fechatter_http::route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use utoipa::IntoResponses;

    use super::*;
    use crate::openapi::responses::RateLimited;

    const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

    #[test]
    fn each_line_is_one_path_and_its_operations_document_the_rate_limit_exactly_when_limited() {
        let spec = serde_json::to_value(assemble(0, |_, _, handlers| handlers).into_openapi())
            .unwrap_or_default();
        let shared =
            serde_json::to_value(RateLimited::responses().remove("429")).unwrap_or_default();
        assert!(shared.is_object());
        for (kind, (_, paths, _)) in declared(0) {
            assert_eq!(paths.paths.len(), 1, "{:?}", paths.paths.keys());
            for (path, declared) in &paths.paths {
                let declared = serde_json::to_value(declared).unwrap_or_default();
                let methods = METHODS.iter().filter(|m| declared.get(**m).is_some());
                for method in methods {
                    let too_many = &spec["paths"][path][method]["responses"]["429"];
                    let place = format!("{method} {path} ({kind:?})");
                    match kind {
                        Limited(_) => assert!(too_many.is_object(), "{place}: no 429"),
                        // An open route may answer 429 for another reason (the WebSocket's
                        // connection cap), never as rate limited.
                        Open => assert_ne!(too_many, &shared, "{place}"),
                    }
                }
            }
        }
    }
}
