//! The idempotency key of a send, checked the same way for the HTTP header and the WebSocket
//! field: the one rule both transports share lives here, outside either.

use crate::error::AppError;

const MAX_KEY_LEN: usize = 255;

/// An idempotency key is 1 to 255 visible ASCII characters (HTTP header or WebSocket field).
pub fn check_key(key: &str) -> Result<&str, AppError> {
    if !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic()) {
        return Ok(key);
    }
    Err(AppError::bad_request(
        "invalid_idempotency_key",
        "Idempotency-Key must be 1 to 255 visible ASCII characters",
    ))
}
