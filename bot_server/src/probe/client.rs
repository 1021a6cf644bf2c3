//! The canaries' side of fechatter_server's public API: what any client does to sign in, invite,
//! open a chat and send. The probe holds no key and touches no table: it is a user like any other.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use super::ProbeError;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A signed-in canary.
#[derive(Clone)]
pub struct Session {
    pub user_id: i64,
    /// Sent as a bearer token; never logged.
    pub access_token: SecretString,
    /// When to sign in again, a minute before the token expires.
    pub renew_at: Instant,
}

pub struct PublicApi {
    http: reqwest::Client,
    base: String,
}

impl PublicApi {
    pub fn new(http: reqwest::Client, fechatter: &Url) -> Self {
        Self {
            http,
            base: fechatter.as_str().trim_end_matches('/').to_owned(),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&SecretString>,
        body: &Value,
    ) -> Result<(StatusCode, Value), String> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .timeout(REQUEST_TIMEOUT)
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token.expose_secret());
        }
        let response = request
            .send()
            .await
            .map_err(|err| err.without_url().to_string())?;
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    /// Signs in; `Ok(None)` when the account does not exist (or the password is not its own).
    pub async fn sign_in(
        &self,
        email: &str,
        password: &SecretString,
    ) -> Result<Option<Session>, ProbeError> {
        let body = json!({"email": email, "password": password.expose_secret()});
        let (status, body) = self
            .call(Method::POST, "/api/signin", None, &body)
            .await
            .map_err(ProbeError::sign_in)?;
        match status {
            StatusCode::OK => session(&body).map(Some),
            StatusCode::UNAUTHORIZED => Ok(None),
            other => Err(ProbeError::sign_in(format!("{other}: {body}"))),
        }
    }

    /// Signs up a canary: the owner of a new workspace, or a member through `invite_code`.
    pub async fn sign_up(
        &self,
        email: &str,
        fullname: &str,
        password: &SecretString,
        joining: Joining<'_>,
    ) -> Result<Session, ProbeError> {
        let mut body = json!({
            "email": email,
            "fullname": fullname,
            "password": password.expose_secret(),
        });
        match joining {
            Joining::NewWorkspace(name) => body["workspace"] = json!(name),
            Joining::Invite(code) => body["invite_code"] = json!(code),
        }
        let (status, body) = self
            .call(Method::POST, "/api/signup", None, &body)
            .await
            .map_err(ProbeError::sign_in)?;
        if status != StatusCode::CREATED {
            // 409 email_taken: the canary exists with another password (BOT_PROBE_PASSWORD changed).
            return Err(ProbeError::sign_in(format!("sign-up: {status}: {body}")));
        }
        session(&body)
    }

    /// A single-use invite code to `owner`'s workspace.
    pub async fn invite(&self, owner: &Session) -> Result<String, ProbeError> {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/workspace/invites",
                Some(&owner.access_token),
                &json!({"max_uses": 1}),
            )
            .await
            .map_err(ProbeError::sign_in)?;
        match (status, body["code"].as_str()) {
            (StatusCode::CREATED, Some(code)) => Ok(code.to_owned()),
            _ => Err(ProbeError::sign_in(format!("invite: {status}: {body}"))),
        }
    }

    /// The direct chat of the two canaries (created once, then found again: direct chats are
    /// unique per pair).
    pub async fn direct_chat(&self, from: &Session, to: &Session) -> Result<i64, ProbeError> {
        let body = json!({"chat_type": "direct", "members": [to.user_id]});
        let (status, body) = self
            .call(Method::POST, "/api/chats", Some(&from.access_token), &body)
            .await
            .map_err(ProbeError::chat)?;
        match (status.is_success(), body["id"].as_i64()) {
            (true, Some(id)) => Ok(id),
            _ => Err(ProbeError::chat(format!("{status}: {body}"))),
        }
    }

    /// Sends `content` to `chat`; the new message's id.
    pub async fn send(&self, from: &Session, chat: i64, content: &str) -> Result<i64, ProbeError> {
        let (status, body) = self
            .call(
                Method::POST,
                &format!("/api/chats/{chat}/messages"),
                Some(&from.access_token),
                &json!({"content": content}),
            )
            .await
            .map_err(ProbeError::send)?;
        match (status, body["id"].as_i64()) {
            (StatusCode::CREATED, Some(id)) => Ok(id),
            (StatusCode::UNAUTHORIZED, _) => Err(ProbeError::unauthorized()),
            _ => Err(ProbeError::send(format!("{status}: {body}"))),
        }
    }
}

/// How a canary joins.
pub enum Joining<'a> {
    NewWorkspace(&'a str),
    Invite(&'a str),
}

fn session(body: &Value) -> Result<Session, ProbeError> {
    let (Some(user_id), Some(token)) = (body["user"]["id"].as_i64(), body["access_token"].as_str())
    else {
        return Err(ProbeError::sign_in(
            "the answer has no user or token".to_owned(),
        ));
    };
    let lifetime = Duration::from_secs(body["expires_in"].as_u64().unwrap_or(900));
    Ok(Session {
        user_id,
        access_token: SecretString::from(token.to_owned()),
        renew_at: Instant::now() + lifetime.saturating_sub(Duration::from_secs(60)),
    })
}
