//! fechatter_server's API as the tests use it: users, chats, messages, search.

use reqwest::Method;
use serde_json::{Value, json};
use test_support::{eventually, unique_name};

use super::{BOT_API_KEY, Stack, WAIT};

const PASSWORD: &str = "correct horse battery";

#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: i64,
    pub workspace_id: i64,
    pub token: String,
}

impl TestUser {
    fn from_tokens(body: &Value) -> TestUser {
        TestUser {
            id: body["user"]["id"].as_i64().unwrap_or_default(),
            workspace_id: body["user"]["workspace_id"].as_i64().unwrap_or_default(),
            token: body["access_token"].as_str().unwrap_or_default().to_owned(),
        }
    }
}

impl Stack {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.fechatter.base, path)
    }

    /// Status and JSON body (`Null` when empty).
    pub async fn call(
        &self,
        method: Method,
        user: Option<&TestUser>,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(user) = user {
            request = request.bearer_auth(&user.token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|err| panic!("{path}: {err}"));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn expect(
        &self,
        status: u16,
        method: Method,
        user: Option<&TestUser>,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let (got, body) = self.call(method, user, path, body).await;
        assert_eq!(got, status, "{path}: {body}");
        body
    }

    /// Signs up the owner of a new workspace.
    pub async fn owner(&self, name: &str, workspace: &str) -> TestUser {
        let email = format!("{name}.{}@example.com", unique_name("u"));
        let body = json!({"fullname": name, "email": email, "password": PASSWORD,
                          "workspace": workspace, "handle": name});
        TestUser::from_tokens(
            &self
                .expect(201, Method::POST, None, "/api/signup", Some(body))
                .await,
        )
    }

    /// Signs up a member of `owner`'s workspace with an invite.
    pub async fn member(&self, owner: &TestUser, name: &str) -> TestUser {
        let invite = self
            .expect(
                201,
                Method::POST,
                Some(owner),
                "/api/workspace/invites",
                Some(json!({})),
            )
            .await;
        let email = format!("{name}.{}@example.com", unique_name("u"));
        let body = json!({"fullname": name, "email": email, "password": PASSWORD,
                          "invite_code": invite["code"], "handle": name});
        TestUser::from_tokens(
            &self
                .expect(201, Method::POST, None, "/api/signup", Some(body))
                .await,
        )
    }

    /// Creates a chat of `owner` with these other members; its id.
    pub async fn chat(
        &self,
        owner: &TestUser,
        chat_type: &str,
        name: Option<&str>,
        members: &[i64],
    ) -> i64 {
        let mut body = json!({"chat_type": chat_type, "members": members});
        if let Some(name) = name {
            body["name"] = json!(name);
        }
        self.expect(201, Method::POST, Some(owner), "/api/chats", Some(body))
            .await["id"]
            .as_i64()
            .unwrap_or_default()
    }

    pub async fn send(&self, user: &TestUser, chat: i64, content: &str) -> i64 {
        let path = format!("/api/chats/{chat}/messages");
        self.expect(
            201,
            Method::POST,
            Some(user),
            &path,
            Some(json!({"content": content})),
        )
        .await["id"]
            .as_i64()
            .unwrap_or_default()
    }

    pub async fn edit(&self, user: &TestUser, chat: i64, message: i64, content: &str) {
        let path = format!("/api/chats/{chat}/messages/{message}");
        self.expect(
            200,
            Method::PATCH,
            Some(user),
            &path,
            Some(json!({"content": content})),
        )
        .await;
    }

    pub async fn delete(&self, user: &TestUser, chat: i64, message: i64) {
        let path = format!("/api/chats/{chat}/messages/{message}");
        self.expect(204, Method::DELETE, Some(user), &path, None)
            .await;
    }

    /// The chat's messages, newest first.
    pub async fn messages(&self, user: &TestUser, chat: i64) -> Vec<Value> {
        let path = format!("/api/chats/{chat}/messages?limit=100");
        self.expect(200, Method::GET, Some(user), &path, None).await["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The message ids `GET /api/search?{query}` returns to `user`.
    pub async fn search_ids(&self, user: &TestUser, query: &str) -> Vec<i64> {
        let body = self
            .expect(
                200,
                Method::GET,
                Some(user),
                &format!("/api/search?{query}"),
                None,
            )
            .await;
        body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item["message_id"].as_i64())
            .collect()
    }

    /// Waits until `query` finds exactly `expected` for `user`.
    pub async fn wait_for_search(&self, user: &TestUser, query: &str, expected: &[i64]) {
        let what = format!("search {query:?} to return {expected:?}");
        eventually(&what, WAIT, || async {
            (self.search_ids(user, query).await == expected).then_some(())
        })
        .await;
    }

    /// Waits until `query` finds exactly `expected` for `user`, in any order.
    pub async fn wait_for_search_all(&self, user: &TestUser, query: &str, expected: &[i64]) {
        let mut expected = expected.to_vec();
        expected.sort_unstable();
        let what = format!("search {query:?} to find {expected:?}");
        eventually(&what, WAIT, || async {
            let mut found = self.search_ids(user, query).await;
            found.sort_unstable();
            (found == expected).then_some(())
        })
        .await;
    }

    /// The workspace's bot user, once bot_server has created it.
    pub async fn bot_of(&self, user: &TestUser) -> i64 {
        eventually("the workspace bot to exist", WAIT, || async {
            let (_, body) = self
                .call(Method::GET, Some(user), "/api/users?limit=100", None)
                .await;
            body["items"].as_array().and_then(|users| {
                users
                    .iter()
                    .find(|u| u["is_bot"] == true && u["handle"] == "bot")
                    .and_then(|u| u["id"].as_i64())
            })
        })
        .await
    }

    /// The bot's reply to `asked` in `chat`, as `user` sees it.
    pub async fn reply_to(&self, user: &TestUser, chat: i64, bot: i64, asked: i64) -> String {
        let what = format!("the bot's reply to message {asked}");
        eventually(&what, WAIT, || async {
            self.messages(user, chat).await.into_iter().find_map(|m| {
                (m["sender_id"] == bot && m["reply_to"] == asked)
                    .then(|| m["content"].as_str().unwrap_or_default().to_owned())
            })
        })
        .await
    }

    /// The bot's messages in `chat`.
    pub async fn bot_messages(&self, user: &TestUser, chat: i64, bot: i64) -> Vec<Value> {
        self.messages(user, chat)
            .await
            .into_iter()
            .filter(|m| m["sender_id"] == bot)
            .collect()
    }

    /// An access token for the workspace bot, obtained as bot_server does: from
    /// `POST /api/bots/token` with the bot credential.
    pub async fn bot_user(&self, workspace_id: i64, bot: i64) -> TestUser {
        let reply: Value = self
            .client
            .post(format!("{}/api/bots/token", self.fechatter.base))
            .bearer_auth(BOT_API_KEY)
            .json(&json!({"workspace_id": workspace_id}))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .unwrap_or_else(|err| panic!("the bot's token: {err}"))
            .json()
            .await
            .unwrap_or_else(|err| panic!("the bot's token: {err}"));
        assert_eq!(reply["user_id"], bot);
        TestUser {
            id: bot,
            workspace_id,
            token: reply["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        }
    }
}

/// `q=…` (and `chat_id=…`), URL-encoded.
pub fn search_query(q: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("q", q)
        .finish()
}
