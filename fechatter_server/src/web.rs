//! The web client, served beside the API from the built files (`FECHATTER_WEB_DIR`): every path
//! outside `/api` is the client's, and a path that is no file (a client route such as
//! `/chats/12`) gets `index.html`, so links and reloads open the right screen. `/api/*` keeps the
//! API's own routing and its JSON 404. `/client-config.json` tells the client where notify and
//! analytics are for the browser.
//!
//! The client's files are not API requests: they bypass the API's metrics layer, so
//! `fechatter_http_*` keeps describing the API alone.

use std::convert::Infallible;

use axum::Router;
use axum::extract::Request;
use axum::routing::get;
use http::{HeaderValue, header};
use serde::Serialize;
use tower::{ServiceBuilder, ServiceExt, service_fn};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::WebClientSettings;

/// Vite names built assets after their content: they never change under the same name.
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// Everything else (index.html above all) is checked on every load, so a new build is picked up.
const REVALIDATE: HeaderValue = HeaderValue::from_static("no-cache");

#[derive(Debug, Serialize)]
struct ClientConfig {
    notify_url: Option<String>,
    analytics_url: Option<String>,
}

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// A base URL without its trailing slash, as the client joins paths to it.
fn base(url: &url::Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

/// What the client's pages may load and connect to: their own origin, notify and analytics (the
/// configured URLs, else any host on their default ports, as the client then uses the page's).
fn content_security_policy(settings: &WebClientSettings) -> HeaderValue {
    let origin = |url: &Option<url::Url>, port: u16| match url {
        Some(url) => url.origin().ascii_serialization(),
        None => format!("*:{port}"),
    };
    let policy = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
         font-src 'self'; connect-src 'self' {} {}; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'",
        origin(&settings.notify_url, 6689),
        origin(&settings.analytics_url, 7777),
    );
    HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static("default-src 'self'"))
}

/// `api` alone when no client is configured, else `api` for `/api/*` and the client elsewhere.
pub fn with_client(api: Router, settings: &WebClientSettings) -> Router {
    let Some(dir) = &settings.dir else {
        return api;
    };
    let config = serde_json::json!(ClientConfig {
        notify_url: settings.notify_url.as_ref().map(base),
        analytics_url: settings.analytics_url.as_ref().map(base),
    })
    .to_string();
    let assets = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            IMMUTABLE,
        ))
        .service(ServeDir::new(dir.join("assets")));
    let pages = ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")));
    let client = Router::new()
        .nest_service("/assets", assets)
        .route(
            "/client-config.json",
            get(move || {
                let config = config.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], config) }
            }),
        )
        .fallback_service(pages)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            REVALIDATE,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            content_security_policy(settings),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ));
    Router::new().fallback_service(service_fn(move |request: Request| {
        let router = if is_api(request.uri().path()) {
            api.clone()
        } else {
            client.clone()
        };
        async move {
            match router.oneshot(request).await {
                Ok(response) => Ok::<_, Infallible>(response),
                Err(never) => match never {},
            }
        }
    }))
}
