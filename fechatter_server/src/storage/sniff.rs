//! What an upload is, decided from its first bytes (magic numbers), never from what the client
//! says: a file named `cat.png` sent as `image/png` that is really a program is refused.

/// Bytes looked at to decide a type.
pub const HEAD_BYTES: usize = 8 * 1024;

/// The types the API stores. Anything a browser could run (HTML, SVG, scripts) is left out.
pub const ALLOWED: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/avif",
    "application/pdf",
    "audio/mpeg",
    "audio/ogg",
    "video/mp4",
    "video/webm",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    TEXT,
];

const TEXT: &str = "text/plain";

/// The detected type of a file starting with `head`, if the API stores that type.
pub fn allowed_type(head: &[u8]) -> Result<&'static str, Detected> {
    let detected = match infer::get(head) {
        Some(kind) => kind.mime_type(),
        None if is_plain_text(head) => TEXT,
        None => return Err(Detected::Unknown),
    };
    ALLOWED
        .iter()
        .find(|allowed| **allowed == detected)
        .copied()
        .ok_or(Detected::NotAllowed(detected))
}

/// Why a type was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    /// Binary data of no known type.
    Unknown,
    NotAllowed(&'static str),
}

/// UTF-8 (a multi-byte character cut at the end of the head is fine) without control characters
/// other than whitespace.
fn is_plain_text(head: &[u8]) -> bool {
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(err) if err.error_len().is_none() => {
            std::str::from_utf8(&head[..err.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
    /// An x86-64 ELF header (the matcher wants more than the magic number).
    fn elf() -> Vec<u8> {
        let mut header = b"\x7fELF\x02\x01\x01".to_vec();
        header.resize(64, 0);
        header
    }

    #[test]
    fn images_and_text_are_stored_with_the_type_of_their_bytes() {
        assert_eq!(allowed_type(PNG), Ok("image/png"));
        assert_eq!(allowed_type(b"%PDF-1.7\n"), Ok("application/pdf"));
        assert_eq!(allowed_type("notes: café\n".as_bytes()), Ok("text/plain"));
        // A character cut in half by the head boundary.
        assert_eq!(allowed_type(&"é".as_bytes()[..1]), Err(Detected::Unknown));
        assert_eq!(allowed_type(&"aé".as_bytes()[..2]), Ok("text/plain"));
    }

    #[test]
    fn programs_markup_and_unknown_binaries_are_refused() {
        assert_eq!(
            allowed_type(&elf()),
            Err(Detected::NotAllowed("application/x-executable"))
        );
        assert_eq!(
            allowed_type(b"<html><script>alert(1)</script>"),
            Err(Detected::NotAllowed("text/html"))
        );
        assert_eq!(allowed_type(b"\0\x01\x02binary"), Err(Detected::Unknown));
        assert_eq!(allowed_type(b""), Err(Detected::Unknown));
    }
}
