//! The web client is served by fechatter_server, another origin: its browser may open the stream
//! with `Authorization` and `Last-Event-ID` from an allowed origin, and from no other.

use reqwest::StatusCode;

use crate::support::TestApp;

const APP: &str = "http://chat.example.test:6688";

#[tokio::test]
async fn an_allowed_origin_may_open_the_stream_with_its_token_and_cursor_and_another_may_not() {
    let app = TestApp::ready(&[("NOTIFY_CORS_ORIGINS", APP)]).await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/events"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "GET")
            .header(
                "Access-Control-Request-Headers",
                "authorization,last-event-id",
            )
            .send()
    };
    let allowed = preflight(APP).await.unwrap_or_else(|err| panic!("{err}"));
    assert!(allowed.status().is_success(), "{}", allowed.status());
    let header = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    assert_eq!(header(&allowed, "access-control-allow-origin"), APP);
    let headers = header(&allowed, "access-control-allow-headers");
    assert!(
        headers.contains("authorization") && headers.contains("last-event-id"),
        "{headers}"
    );

    let other = preflight("http://elsewhere.example.test")
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(header(&other, "access-control-allow-origin"), "");

    let stream = app
        .http
        .get(app.url("/events"))
        .bearer_auth(app.token(7))
        .header("Origin", APP)
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(header(&stream, "access-control-allow-origin"), APP);
    drop(stream);

    // Preflights are answered before routing: they are not API requests in the metrics.
    let page = app.scrape().await;
    assert!(!page.contains(r#"method="OPTIONS""#), "{page}");
}
