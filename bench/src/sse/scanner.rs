//! A Server-Sent Events scanner that reads only what the benchmark needs (the event name and id)
//! and skips `data:` lines without copying them: a fan-out event carries its whole envelope, and
//! the client must cost far less than the server it measures.

use memchr::memchr;

/// Lines longer than this can only be data (or a comment) and are skipped, not buffered.
const MAX_FIELD_LINE: usize = 128;

#[derive(Debug, Default)]
pub struct Scanner {
    line: Vec<u8>,
    /// Inside a long line that is being skipped.
    skipping: bool,
    event: Vec<u8>,
    id: Option<u64>,
    /// Whether the event being assembled has any field at all.
    pending: bool,
}

/// One dispatched event: its name (`message` when none was given) and its numeric id, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatched<'a> {
    pub event: &'a [u8],
    pub id: Option<u64>,
}

impl Scanner {
    /// Feeds a chunk of the body; `on_event` runs for every event the chunk completes.
    pub fn feed(&mut self, mut chunk: &[u8], mut on_event: impl FnMut(Dispatched<'_>)) {
        while let Some(end) = memchr(b'\n', chunk) {
            self.push(&chunk[..end]);
            self.end_line(&mut on_event);
            chunk = &chunk[end + 1..];
        }
        self.push(chunk);
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.skipping {
            return;
        }
        self.line.extend_from_slice(bytes);
        if self.line.len() > MAX_FIELD_LINE {
            self.line.clear();
            self.skipping = true;
            self.pending = true;
        }
    }

    fn end_line(&mut self, on_event: &mut impl FnMut(Dispatched<'_>)) {
        if self.skipping {
            self.skipping = false;
            return;
        }
        let line = self.line.strip_suffix(b"\r").unwrap_or(&self.line);
        if line.is_empty() {
            if self.pending {
                let event: &[u8] = if self.event.is_empty() {
                    b"message"
                } else {
                    &self.event
                };
                on_event(Dispatched { event, id: self.id });
            }
            self.event.clear();
            self.id = None;
            self.pending = false;
        } else if line.starts_with(b":") {
            // A comment (keep-alive): not an event.
        } else {
            let (field, value) = match memchr(b':', line) {
                Some(colon) => (&line[..colon], &line[colon + 1..]),
                None => (line, &b""[..]),
            };
            let value = value.strip_prefix(b" ").unwrap_or(value);
            match field {
                b"event" => self.event = value.to_vec(),
                // notify's ids are cursors `epoch:sequence`; the hub's are bare sequences.
                b"id" => {
                    self.id = std::str::from_utf8(value).ok().and_then(|text| {
                        let seq = text.rsplit_once(':').map_or(text, |(_, seq)| seq);
                        seq.parse().ok()
                    });
                }
                _ => {}
            }
            self.pending = true;
        }
        self.line.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(chunks: &[&[u8]]) -> Vec<(String, Option<u64>)> {
        let mut scanner = Scanner::default();
        let mut seen = Vec::new();
        for chunk in chunks {
            scanner.feed(chunk, |d| {
                seen.push((String::from_utf8_lossy(d.event).into_owned(), d.id));
            });
        }
        seen
    }

    #[test]
    fn events_split_anywhere_are_dispatched_with_their_name_and_id() {
        let long = format!("data: {}\n", "x".repeat(5000));
        let body = format!(
            "event: message.created\n{long}id: 42\n\n: keep-alive\n\nevent: connected\ndata: {{}}\n\n"
        );
        let bytes = body.as_bytes();
        let whole = scan(&[bytes]);
        let expected = vec![
            ("message.created".to_owned(), Some(42)),
            ("connected".to_owned(), None),
        ];
        assert_eq!(whole, expected);
        for split in [1, 7, 23, 130, 2000, 5020, bytes.len() - 3] {
            let (a, b) = bytes.split_at(split);
            assert_eq!(scan(&[a, b]), expected, "split at {split}");
        }
    }

    #[test]
    fn crlf_line_ends_and_unnamed_events_work() {
        assert_eq!(
            scan(&[b"data: a\r\nid: 7\r\n\r\n"]),
            vec![("message".to_owned(), Some(7))]
        );
    }

    #[test]
    fn a_cursor_id_gives_its_sequence() {
        assert_eq!(
            scan(&[b"event: message.created\nid: 1764763200123456789:42\n\n"]),
            vec![("message.created".to_owned(), Some(42))]
        );
    }
}
