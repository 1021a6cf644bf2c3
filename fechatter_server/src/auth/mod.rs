//! Who is calling: passwords, opaque secrets (refresh tokens, invite codes) and the extractor that
//! turns an access token into a [`CurrentUser`].

mod current_user;
pub mod password;
pub mod secrets;

pub use current_user::CurrentUser;
pub use password::Passwords;
