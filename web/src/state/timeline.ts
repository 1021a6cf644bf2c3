// The loaded window of one chat's messages, oldest first, and the pure operations that keep it
// consistent whatever order pages, live events and replays arrive in: every message appears once,
// keyed by its id; an older version never replaces a newer one; a deleted message never returns.

import type { Message, Page, ThreadUpdated } from '../api/types';

export interface Timeline {
  /** Ascending by id. */
  messages: Message[];
  /** More messages exist before the oldest one loaded. */
  hasMore: boolean;
  /** The keyset cursor of the next older page. */
  nextBefore: number | null;
  /** Ids deleted while this window was loaded: a page fetched earlier must not bring them back. */
  deleted: Set<number>;
}

export const emptyTimeline = (): Timeline => ({
  messages: [],
  hasMore: true,
  nextBefore: null,
  deleted: new Set(),
});

/** When this version of the message was written. Compared as instants: the API and the events
 *  may print the same time with different numbers of fractional digits. */
function version(m: Message): number {
  return Date.parse(m.edited_at ?? m.created_at);
}

/** Merges `incoming` into ascending `messages`: one entry per id, the newer version kept. */
export function mergeMessages(messages: Message[], incoming: Message[], deleted: Set<number>): Message[] {
  const byId = new Map<number, Message>();
  for (const m of messages) byId.set(m.id, m);
  for (const m of incoming) {
    if (deleted.has(m.id)) continue;
    const known = byId.get(m.id);
    if (!known || version(m) >= version(known)) byId.set(m.id, known ? keepRicher(known, m) : m);
  }
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/** A live event carries file ids only; keep the full file records a page already gave. */
function keepRicher(known: Message, incoming: Message): Message {
  if (incoming.files.length === 0 && known.files.length > 0) return { ...incoming, files: known.files };
  return incoming;
}

/** An older page (scrolling back): its messages go before the loaded ones. */
export function withOlderPage(t: Timeline, page: Page<Message>): Timeline {
  return {
    ...t,
    messages: mergeMessages(t.messages, page.items, t.deleted),
    hasMore: page.has_more,
    nextBefore: page.has_more ? page.next_before : null,
  };
}

/** The newest page (first load, catch-up, resync). When it does not reach back to what is loaded
 *  (more was missed than a page holds), the window restarts from it, so no gap is ever shown. */
export function withNewestPage(t: Timeline, page: Page<Message>): Timeline {
  if (page.items.length === 0) return { ...t, messages: [], hasMore: false, nextBefore: null };
  const oldestOfPage = page.items.length ? Math.min(...page.items.map((m) => m.id)) : Infinity;
  const newestLoaded = t.messages.length ? t.messages[t.messages.length - 1]!.id : -Infinity;
  const gap = page.has_more && oldestOfPage > newestLoaded && t.messages.length > 0;
  if (gap || t.messages.length === 0) {
    return {
      messages: mergeMessages([], page.items, t.deleted),
      hasMore: page.has_more,
      nextBefore: page.has_more ? page.next_before : null,
      deleted: t.deleted,
    };
  }
  // Messages of the loaded window newer than the page's oldest that the page lacks were deleted.
  const inPage = new Set(page.items.map((m) => m.id));
  const kept = t.messages.filter((m) => m.id < oldestOfPage || inPage.has(m.id));
  return { ...t, messages: mergeMessages(kept, page.items, t.deleted) };
}

export function upsert(t: Timeline, message: Message): Timeline {
  return { ...t, messages: mergeMessages(t.messages, [message], t.deleted) };
}

export function patch(t: Timeline, id: number, change: (m: Message) => Message): Timeline {
  const index = t.messages.findIndex((m) => m.id === id);
  if (index < 0) return t;
  const messages = t.messages.slice();
  messages[index] = change(messages[index]!);
  return { ...t, messages };
}

export function remove(t: Timeline, id: number): Timeline {
  const deleted = new Set(t.deleted);
  deleted.add(id);
  return { ...t, messages: t.messages.filter((m) => m.id !== id), deleted };
}

/** A thread root's counts after `thread.updated`. */
export function withThread(m: Message, update: ThreadUpdated): Message {
  if (m.id !== update.root_id) return m;
  return { ...m, reply_count: update.reply_count, last_reply_at: update.last_reply_at };
}

/** A reaction by `userId` added or removed; `me` tells whether that user is the viewer. */
export function react(m: Message, emoji: string, added: boolean, byMe: boolean): Message {
  const reactions = m.reactions.slice();
  const index = reactions.findIndex((r) => r.emoji === emoji);
  const current = index >= 0 ? reactions[index]! : { emoji, count: 0, me: false };
  // The viewer's own reaction is known exactly: never count it twice or below zero.
  if (byMe && current.me === added) return m;
  const count = Math.max(0, current.count + (added ? 1 : -1));
  const next = { emoji, count, me: byMe ? added : current.me };
  if (count === 0) {
    if (index >= 0) reactions.splice(index, 1);
  } else if (index >= 0) reactions[index] = next;
  else reactions.push(next);
  return { ...m, reactions };
}
