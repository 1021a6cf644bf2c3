//! Who is calling: passwords, opaque secrets (refresh tokens, invite codes) and the extractor that
//! turns an access token into a [`CurrentUser`].

mod current_user;
pub mod password;
pub mod secrets;
pub mod throttle;

pub use current_user::{CurrentUser, WEBSOCKET_ROUTE, session_is_open};
pub use password::Passwords;
pub use throttle::SigninThrottle;
