//! NATS as deployments run it: the repository's `nats/nats-server.conf` (a user per service, each
//! with its permissions) and a fresh password per user, as `fechatter_secrets` would generate.

use test_support::{Nats, NatsConfig};

use crate::ops::repo_path;

/// The users of `nats/nats-server.conf`.
pub const USERS: [&str; 5] = ["fechatter", "notify", "bot", "analytics", "operator"];

#[derive(Debug, Clone)]
pub struct NatsUsers {
    passwords: Vec<(&'static str, String)>,
}

impl NatsUsers {
    pub fn generate() -> NatsUsers {
        NatsUsers {
            passwords: USERS
                .iter()
                .map(|user| (*user, format!("p{}", uuid::Uuid::new_v4().simple())))
                .collect(),
        }
    }

    /// The server configuration: the permissions file and the passwords it reads.
    pub fn config(&self) -> NatsConfig {
        NatsConfig {
            include: Some(repo_path("nats/nats-server.conf")),
            env: self
                .passwords
                .iter()
                .map(|(user, password)| {
                    (
                        format!("{}_NATS_PASSWORD", user.to_ascii_uppercase()),
                        password.clone(),
                    )
                })
                .collect(),
        }
    }

    pub fn password(&self, user: &str) -> &str {
        self.passwords
            .iter()
            .find(|(name, _)| *name == user)
            .map(|(_, password)| password.as_str())
            .unwrap_or_else(|| panic!("{user} is not a NATS user"))
    }

    /// A dedicated server with these users.
    pub async fn start(&self) -> Nats {
        Nats::dedicated_with(self.config()).await
    }
}
