//! A page of messages serialised once for every viewer.
//!
//! The only part of a page that depends on who reads it is each reaction count's `me`. The page is
//! serialised with `me` false everywhere, and the position of each of those values is kept with the
//! users who reacted so: a viewer who reacted to nothing on the page gets the shared bytes as they
//! are; any other viewer gets a copy with their own `true`s written in, without serialising again.

use bytes::Bytes;
use fechatter_events::UserId;
use memchr::memmem;

use crate::models::{Message, Page};

const ME_FALSE: &[u8] = br#""me":false"#;
const VALUE_AT: usize = br#""me":"#.len();
const FALSE: &[u8] = b"false";

/// One reaction count of the page: where its `false` is and who would see `true` there.
struct Slot {
    at: usize,
    /// Sorted.
    reactors: Box<[UserId]>,
}

pub struct PageBody {
    json: Bytes,
    slots: Box<[Slot]>,
    /// Everyone in any slot, sorted: the viewers who do not get the shared bytes.
    reactors: Box<[UserId]>,
    items: usize,
}

/// The serialised page does not have one `"me":false` per reaction count (a field of that name
/// elsewhere, or reactor lists that do not match): it cannot be shared; here is what it was made
/// of, to serve it per viewer with [`personal`].
#[derive(Debug, thiserror::Error)]
#[error("the serialised page has {found} `me` values for {} reaction counts", reactors.len())]
pub struct Unshareable {
    found: usize,
    pub page: Page<Message>,
    pub reactors: Vec<Vec<UserId>>,
}

/// The page serialised for `viewer` alone: `me` is whether `viewer` is among each count's
/// reactors (same order as [`PageBody::new`]).
pub fn personal(
    mut page: Page<Message>,
    reactors: &[Vec<UserId>],
    viewer: UserId,
) -> Result<Bytes, serde_json::Error> {
    let mut users = reactors.iter();
    for reaction in page.items.iter_mut().flat_map(|m| m.reactions.iter_mut()) {
        reaction.me = users.next().is_some_and(|users| users.contains(&viewer));
    }
    serde_json::to_vec(&page).map(Bytes::from)
}

impl PageBody {
    /// `reactors[i]` are the users of the page's i-th reaction count, counting each message's
    /// reactions in order, messages in page order.
    pub fn new(mut page: Page<Message>, reactors: Vec<Vec<UserId>>) -> Result<Self, PageError> {
        let items = page.items.len();
        for reaction in page.items.iter_mut().flat_map(|m| m.reactions.iter_mut()) {
            reaction.me = false;
        }
        let json = serde_json::to_vec(&page)?;
        let found: Vec<usize> = memmem::find_iter(&json, ME_FALSE)
            .map(|at| at + VALUE_AT)
            .collect();
        if found.len() != reactors.len() {
            return Err(PageError::Unshareable(Box::new(Unshareable {
                found: found.len(),
                page,
                reactors,
            })));
        }
        let mut everyone = Vec::new();
        let slots: Box<[Slot]> = found
            .into_iter()
            .zip(reactors)
            .map(|(at, mut users)| {
                users.sort_unstable();
                users.dedup();
                everyone.extend_from_slice(&users);
                Slot {
                    at,
                    reactors: users.into_boxed_slice(),
                }
            })
            .collect();
        everyone.sort_unstable();
        everyone.dedup();
        Ok(Self {
            json: Bytes::from(json),
            slots,
            reactors: everyone.into_boxed_slice(),
            items,
        })
    }

    /// The page as `viewer` sees it.
    pub fn for_viewer(&self, viewer: UserId) -> Bytes {
        if self.reactors.binary_search(&viewer).is_err() {
            return self.json.clone();
        }
        let mut out = Vec::with_capacity(self.json.len());
        let mut from = 0;
        for slot in &self.slots {
            out.extend_from_slice(&self.json[from..slot.at]);
            let me = slot.reactors.binary_search(&viewer).is_ok();
            out.extend_from_slice(if me { b"true" } else { FALSE });
            from = slot.at + FALSE.len();
        }
        out.extend_from_slice(&self.json[from..]);
        Bytes::from(out)
    }

    /// Messages on the page.
    pub fn items(&self) -> usize {
        self.items
    }

    /// What the page holds in memory, roughly.
    pub fn weight(&self) -> usize {
        let users: usize = self.slots.iter().map(|slot| slot.reactors.len()).sum();
        self.json.len()
            + (users + self.reactors.len()) * size_of::<UserId>()
            + self.slots.len() * size_of::<Slot>()
            + size_of::<Self>()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error(transparent)]
    Unshareable(Box<Unshareable>),
    #[error("serialising a page: {0}")]
    Json(#[from] serde_json::Error),
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use fechatter_events::{ChatId, MessageId};

    use super::*;
    use crate::models::message::ReactionCount;

    fn message(id: i64, content: &str, reactions: &[(&str, i64)]) -> Message {
        Message {
            id: MessageId(id),
            chat_id: ChatId(1),
            sender_id: UserId(1),
            content: content.to_owned(),
            reply_to: None,
            thread_root_id: None,
            reply_count: 0,
            last_reply_at: None,
            integration: None,
            mentions: Vec::new(),
            reactions: reactions
                .iter()
                .map(|(emoji, count)| ReactionCount {
                    message_id: MessageId(id),
                    emoji: (*emoji).to_owned(),
                    count: *count,
                    me: false,
                })
                .collect(),
            files: Vec::new(),
            created_at: Utc::now(),
            edited_at: None,
        }
    }

    fn page(items: Vec<Message>) -> Page<Message> {
        Page {
            items,
            next_before: None,
            has_more: false,
        }
    }

    /// The page `viewer` would get from serialising it with their own `me` values.
    fn expected(page: Page<Message>, reactors: &[Vec<UserId>], viewer: UserId) -> Vec<u8> {
        personal(page, reactors, viewer)
            .map(|bytes| bytes.to_vec())
            .unwrap_or_default()
    }

    #[test]
    fn each_viewer_sees_their_own_reactions_and_others_share_the_bytes() {
        let items = vec![
            // Content that looks like the marker is escaped, so it is not taken for one.
            message(3, r#"say "me":false"#, &[("👍", 2), (":tada:", 1)]),
            message(2, "plain", &[]),
            message(1, "more", &[("👀", 1)]),
        ];
        let reactors = vec![vec![UserId(7), UserId(5)], vec![UserId(5)], vec![UserId(9)]];
        let body = PageBody::new(page(items.clone()), reactors.clone())
            .unwrap_or_else(|err| panic!("{err}"));
        for viewer in [UserId(5), UserId(7), UserId(9), UserId(1)] {
            assert_eq!(
                body.for_viewer(viewer).as_ref(),
                expected(page(items.clone()), &reactors, viewer).as_slice(),
                "viewer {viewer}"
            );
        }
        let shared = body.for_viewer(UserId(1));
        assert_eq!(shared.as_ptr(), body.for_viewer(UserId(2)).as_ptr());
        assert_eq!(body.items(), 3);
    }

    #[test]
    fn reactor_lists_that_do_not_match_the_counts_are_refused() {
        let items = vec![message(1, "x", &[("👍", 1)])];
        assert!(matches!(
            PageBody::new(page(items), Vec::new()),
            Err(PageError::Unshareable(_))
        ));
    }
}
