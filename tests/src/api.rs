//! The services' HTTP APIs as a client sees them: requests answered as status + JSON body, and the
//! fechatter_server steps the scenarios repeat (sign-up, chats, messages).

use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub const PASSWORD: &str = "correct horse battery staple";
/// No request of these tests may take longer; a hang is a failure, not a wait.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle pooled connection is reused: well under the services' idle close (10 s).
const IDLE_CONNECTION_KEPT: Duration = Duration::from_secs(4);

/// A signed-up user and the tokens fechatter_server gave them.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub workspace_id: i64,
    pub handle: String,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

impl User {
    fn from_tokens(body: &Value, email: String) -> User {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        User {
            id: body["user"]["id"].as_i64().unwrap_or_default(),
            workspace_id: body["user"]["workspace_id"].as_i64().unwrap_or_default(),
            handle: text(&body["user"]["handle"]),
            email,
            access_token: text(&body["access_token"]),
            refresh_token: text(&body["refresh_token"]),
        }
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: HeaderMap,
    pub elapsed: Duration,
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

    /// The `id` of the returned object.
    #[track_caller]
    pub fn id(&self) -> i64 {
        self.body["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no id in {}", self.body))
    }

    /// `body.items`, empty when there are none.
    pub fn items(&self) -> Vec<Value> {
        self.body["items"].as_array().cloned().unwrap_or_default()
    }
}

/// One service's HTTP API.
#[derive(Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    /// `base` like `http://127.0.0.1:6688`.
    pub fn new(base: impl Into<String>) -> Api {
        Self::build(base.into(), reqwest::Client::builder())
    }

    /// A client connecting from another local address (`127.0.0.2`…): another client machine, as
    /// far as per-address limits are concerned.
    pub fn from_address(base: impl Into<String>, local: std::net::IpAddr) -> Api {
        Self::build(base.into(), reqwest::Client::builder().local_address(local))
    }

    fn build(base: String, builder: reqwest::ClientBuilder) -> Api {
        Api {
            base,
            http: builder
                .timeout(REQUEST_TIMEOUT)
                // The services close a connection idle for HEADER_READ_TIMEOUT_MS (10 s): a pooled
                // connection reused just as the server closes it fails the request unsent. Drop
                // idle ones well before (a POST is not retried, so the race lost a send under load).
                .pool_idle_timeout(IDLE_CONNECTION_KEPT)
                .build()
                .unwrap_or_else(|err| panic!("HTTP client: {err}")),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request; `Err` only when no answer came (refused, reset, timed out).
    pub async fn try_call(
        &self,
        method: Method,
        token: Option<&str>,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, reqwest::Error> {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let started = Instant::now();
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Reply {
            status,
            body,
            headers,
            elapsed: started.elapsed(),
        })
    }

    /// A request that must be answered.
    pub async fn call(
        &self,
        method: Method,
        token: Option<&str>,
        path: &str,
        body: Option<&Value>,
    ) -> Reply {
        self.try_call(method.clone(), token, path, body, &[])
            .await
            .unwrap_or_else(|err| panic!("{method} {path}: {err}"))
    }

    pub async fn get(&self, token: Option<&str>, path: &str) -> Reply {
        self.call(Method::GET, token, path, None).await
    }

    pub async fn post(&self, token: Option<&str>, path: &str, body: Value) -> Reply {
        self.call(Method::POST, token, path, Some(&body)).await
    }

    /// Signs up the owner of a new workspace.
    pub async fn sign_up_owner(&self, handle: &str, workspace: &str) -> User {
        self.sign_up(json!({"workspace": workspace}), handle).await
    }

    /// Signs up a member of `owner`'s workspace through an invite.
    pub async fn sign_up_member(&self, owner: &User, handle: &str) -> User {
        let code = self.invite(owner).await;
        self.sign_up_invited(&code, handle).await
    }

    /// A fresh invite code to `owner`'s workspace.
    pub async fn invite(&self, owner: &User) -> String {
        let invite = self
            .post(
                Some(&owner.access_token),
                "/api/workspace/invites",
                json!({}),
            )
            .await;
        invite.expect(201);
        invite.body["code"].as_str().unwrap_or_default().to_owned()
    }

    pub async fn sign_up_invited(&self, code: &str, handle: &str) -> User {
        self.sign_up(json!({"invite_code": code}), handle).await
    }

    async fn sign_up(&self, mut body: Value, handle: &str) -> User {
        let email = format!("{handle}.{}@example.com", test_support::unique_name("u"));
        body["fullname"] = json!(handle);
        body["handle"] = json!(handle);
        body["email"] = json!(email);
        body["password"] = json!(PASSWORD);
        let reply = self.post(None, "/api/signup", body).await;
        reply.expect(201);
        User::from_tokens(&reply.body, email)
    }

    /// Signs in again: a second session with tokens of its own.
    pub async fn sign_in(&self, user: &User) -> User {
        let reply = self
            .post(
                None,
                "/api/signin",
                json!({"email": user.email, "password": PASSWORD}),
            )
            .await;
        reply.expect(200);
        User::from_tokens(&reply.body, user.email.clone())
    }

    /// Creates a chat owned by `owner` with these other members; its id.
    pub async fn create_chat(
        &self,
        owner: &User,
        chat_type: &str,
        name: Option<&str>,
        members: &[&User],
    ) -> i64 {
        let ids: Vec<i64> = members.iter().map(|user| user.id).collect();
        let mut body = json!({"chat_type": chat_type, "members": ids});
        if let Some(name) = name {
            body["name"] = json!(name);
        }
        let reply = self
            .post(Some(&owner.access_token), "/api/chats", body)
            .await;
        reply.expect(201);
        reply.id()
    }

    /// Sends a message; its id.
    pub async fn send(&self, user: &User, chat: i64, content: &str) -> i64 {
        let reply = self
            .post(
                Some(&user.access_token),
                &format!("/api/chats/{chat}/messages"),
                json!({"content": content}),
            )
            .await;
        reply.expect(201);
        reply.id()
    }

    /// Every message of `chat` as `user` lists them, oldest first, through all pages.
    pub async fn messages(&self, user: &User, chat: i64) -> Vec<Value> {
        let mut all = Vec::new();
        let mut path = format!("/api/chats/{chat}/messages?limit=100");
        loop {
            let page = self.get(Some(&user.access_token), &path).await;
            page.expect(200);
            all.extend(page.items());
            match page.body["next_before"].as_i64() {
                Some(before) => {
                    path = format!("/api/chats/{chat}/messages?limit=100&before={before}");
                }
                None => break,
            }
        }
        all.reverse();
        all
    }

    /// The ids of every message `user`'s search for `query` finds, through all pages, best first.
    pub async fn search(&self, user: &User, query: &str) -> Vec<i64> {
        self.search_hits(user, query)
            .await
            .iter()
            .filter_map(|hit| hit["message_id"].as_i64())
            .collect()
    }

    /// Every hit of `user`'s search for `query`, through all pages, best first.
    pub async fn search_hits(&self, user: &User, query: &str) -> Vec<Value> {
        let mut found = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let mut url = reqwest::Url::parse(&self.url("/api/search"))
                .unwrap_or_else(|err| panic!("search URL: {err}"));
            url.query_pairs_mut()
                .append_pair("q", query)
                .append_pair("limit", "100");
            if let Some(before) = &before {
                url.query_pairs_mut().append_pair("before", before);
            }
            let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
            let page = self.get(Some(&user.access_token), &path).await;
            page.expect(200);
            found.extend(page.items());
            match page.body["next_before"].as_str() {
                Some(next) => before = Some(next.to_owned()),
                None => return found,
            }
        }
    }

    /// Uploads `bytes` as `filename` (multipart field `file`); the stored file's description.
    pub async fn upload(&self, user: &User, filename: &str, bytes: &[u8]) -> Reply {
        let boundary = format!("e2e-{}", uuid::Uuid::new_v4().simple());
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let started = Instant::now();
        let response = self
            .http
            .post(self.url("/api/files"))
            .bearer_auth(&user.access_token)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap_or_else(|err| panic!("POST /api/files: {err}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or_default();
        Reply {
            status,
            body,
            headers,
            elapsed: started.elapsed(),
        }
    }

    /// `GET /api/files/{id}` as `user`: the status and the bytes.
    pub async fn download(&self, user: &User, id: i64) -> (u16, Vec<u8>) {
        let response = self
            .http
            .get(self.url(&format!("/api/files/{id}")))
            .bearer_auth(&user.access_token)
            .send()
            .await
            .unwrap_or_else(|err| panic!("GET /api/files/{id}: {err}"));
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap_or_default().to_vec();
        (status, bytes)
    }
}
