//! Requests against the app, answered as status + JSON body + headers.

use http::HeaderMap;
use reqwest::Method;
use serde_json::Value;

use super::{TestApp, TestUser};

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Reply {
    /// Panics with the body when the status is not `status`.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self
    }

    /// Panics unless the status and error `code` are these.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.body["code"].as_str()),
            (status, Some(code)),
            "body: {}",
            self.body
        );
        assert!(
            self.body["message"].is_string(),
            "no message: {}",
            self.body
        );
    }

    /// The `id` of the returned object.
    #[track_caller]
    pub fn id(&self) -> i64 {
        self.body["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no id in {}", self.body))
    }

    /// The ids of a page's items.
    pub fn item_ids(&self, key: &str) -> Vec<i64> {
        self.body["items"]
            .as_array()
            .map(|items| items.iter().filter_map(|item| item[key].as_i64()).collect())
            .unwrap_or_default()
    }
}

impl TestApp {
    pub async fn call(
        &self,
        method: Method,
        user: Option<&TestUser>,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        if let Some(user) = user {
            request = request.bearer_auth(&user.token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send_request(request).await
    }

    pub async fn send_request(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request
            .send()
            .await
            .unwrap_or_else(|err| panic!("request failed: {err}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            body,
            headers,
        }
    }

    pub async fn get(&self, user: Option<&TestUser>, path: &str) -> Reply {
        self.call(Method::GET, user, path, None).await
    }

    pub async fn post(&self, user: Option<&TestUser>, path: &str, body: Value) -> Reply {
        self.call(Method::POST, user, path, Some(body)).await
    }

    pub async fn patch(&self, user: Option<&TestUser>, path: &str, body: Value) -> Reply {
        self.call(Method::PATCH, user, path, Some(body)).await
    }

    pub async fn put(&self, user: Option<&TestUser>, path: &str) -> Reply {
        self.call(Method::PUT, user, path, None).await
    }

    pub async fn delete(&self, user: Option<&TestUser>, path: &str) -> Reply {
        self.call(Method::DELETE, user, path, None).await
    }
}
