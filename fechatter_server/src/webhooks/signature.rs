//! The signature of an outgoing delivery: `Fechatter-Signature: sha256=<hex>` is the HMAC-SHA256,
//! keyed with the webhook's secret, of `<Fechatter-Timestamp>.<body>`. Signing the timestamp lets a
//! receiver refuse old replays; comparing in constant time is the receiver's part.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "fechatter-signature";
pub const TIMESTAMP_HEADER: &str = "fechatter-timestamp";
pub const EVENT_ID_HEADER: &str = "fechatter-event-id";
pub const EVENT_KIND_HEADER: &str = "fechatter-event-kind";
pub const DELIVERY_ID_HEADER: &str = "fechatter-delivery-id";

/// `sha256=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    #[allow(clippy::expect_used)] // HMAC takes a key of any length: this cannot fail.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_the_timestamp_and_body() {
        // RFC 4231 test case 2's key and data, with the timestamp prefix in the data.
        let expected = {
            let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap_or_else(|e| panic!("{e}"));
            mac.update(b"1700000000.what do ya want for nothing?");
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        };
        assert_eq!(
            sign("Jefe", 1_700_000_000, b"what do ya want for nothing?"),
            expected
        );
        assert_ne!(
            sign("Jefe", 1_700_000_001, b"what do ya want for nothing?"),
            expected
        );
        assert_ne!(
            sign("jefe", 1_700_000_000, b"what do ya want for nothing?"),
            expected
        );
    }
}
