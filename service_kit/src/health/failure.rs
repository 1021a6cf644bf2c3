//! Why a health check failed, in two forms: the cause for the log, and what the unauthenticated
//! `/health` may show (a dependency's own error can name hosts, users or databases).

use std::borrow::Cow;

/// What `/health` shows for a failure whose cause is only logged.
pub const GENERIC_REASON: &str = "unavailable";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    /// Shown in `/health`.
    pub(super) public: Cow<'static, str>,
    /// Logged.
    pub(super) detail: String,
}

impl CheckFailure {
    /// A fixed reason, safe to show to anyone as it is (e.g. "migrations not applied yet").
    pub fn public(reason: &'static str) -> Self {
        Self {
            public: Cow::Borrowed(reason),
            detail: reason.to_owned(),
        }
    }

    pub(super) fn public_owned(reason: String) -> Self {
        Self {
            detail: reason.clone(),
            public: Cow::Owned(reason),
        }
    }

    pub(super) fn into_public(self) -> String {
        self.public.into_owned()
    }
}

/// A dependency's own error: logged, shown as [`GENERIC_REASON`].
impl From<String> for CheckFailure {
    fn from(detail: String) -> Self {
        Self {
            public: Cow::Borrowed(GENERIC_REASON),
            detail,
        }
    }
}
