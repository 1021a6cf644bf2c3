// Applies the live stream to the state: domain events (deduplicated by event id, so a replay that
// overlaps what was applied changes nothing), presence, typing, and `resync` (refetch what is
// shown). Events that arrive while a catch-up load is running wait for it, then apply.

import { computed, signal } from '@preact/signals';
import type { Envelope, Message, MessagePayload, ThreadUpdated } from '../api/types';
import { end, SESSION_ENDED, session, sessionId as tokenSessionId } from '../auth/session';
import { RecentIds } from '../live/dedupe';
import type { SseMessage } from '../live/sseParser';
import { LiveStream } from '../live/stream';
import { route } from '../router';
import {
  chats,
  deleteIn,
  me,
  members,
  online,
  setIn,
  showNotice,
  timelines,
  typing,
  updateChat,
  updateTimeline,
  users,
} from './store';
import { loadMembers, loadNewest, refetchVisible, refreshDirectorySoon, reloadChat } from './chatsync';
import { patch, react, remove, upsert, withThread } from './timeline';
import { markReadIfVisible } from './reading';

const recent = new RecentIds();
let stream: LiveStream | null = null;
const current = signal<LiveStream | null>(null);
/** The live stream's state, for the reconnect banner. */
export const connection = computed(() => current.value?.status.value ?? 'idle');
/** The code the server refused the last reconnect with (`too_many_connections`, …). */
export const refusal = computed(() => current.value?.refusal.value ?? null);
let notifyUrl = '';
/** While a catch-up load runs, events wait here. */
let pending: Envelope[] | null = null;
/** Chats whose counts may be off after a catch-up: fetched again once it ends. */
const recount = new Set<number>();

export function startLive(url: string) {
  notifyUrl = url.replace(/\/$/, '');
  stream?.stop();
  recent.clear();
  resetLive();
  stream = new LiveStream(`${notifyUrl}/events`, {
    onMessage,
    onConnected,
    onSessionEnded: () => end(SESSION_ENDED),
  });
  current.value = stream;
  stream.start();
  window.addEventListener('online', reconnect);
}

export function stopLive() {
  stream?.stop();
  stream = null;
  current.value = null;
  window.removeEventListener('online', reconnect);
}

export function reconnect() {
  stream?.reconnectNow();
}

let resumed = false;
async function onConnected() {
  void loadOnline();
  // A stream without a cursor starts at the head: whatever happened before it is fetched, so
  // nothing between the first load and the connect is missed. A resumed stream was replayed.
  if (!resumed) {
    resumed = true;
    await catchUp();
  }
}

async function loadOnline() {
  const token = session.value?.access_token;
  if (!token) return;
  try {
    const response = await fetch(`${notifyUrl}/online-users`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    if (!response.ok) return;
    const body = (await response.json()) as { user_ids: number[] };
    online.value = new Set(body.user_ids);
  } catch {
    // Presence is best effort; the next connect asks again.
  }
}

async function catchUp() {
  pending ??= [];
  try {
    const open = route.value.name === 'chat' ? route.value.chatId : null;
    await refetchVisible(open);
  } catch (err) {
    console.warn('catching up failed', err);
  } finally {
    const waiting = pending ?? [];
    pending = null;
    for (const envelope of waiting) apply(envelope, true);
    for (const id of recount) void reloadChat(id);
    recount.clear();
    const open = route.value.name === 'chat' ? route.value.chatId : null;
    if (open !== null) markReadIfVisible(open);
  }
}

function onMessage(message: SseMessage) {
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    return; // keep-alive text or something this client does not know
  }
  switch (message.event) {
    case 'connected':
      return;
    case 'resync':
      showNotice('Catching up after a long disconnection…', 'info');
      recent.clear();
      void catchUp();
      return;
    case 'presence.changed': {
      const p = data as { user_id: number; online: boolean };
      const next = new Set(online.value);
      if (p.online) next.add(p.user_id);
      else next.delete(p.user_id);
      online.value = next;
      return;
    }
    case 'typing': {
      const t = data as { chat_id: number; user_id: number; expires_at: string };
      const lifetime = Date.parse(t.expires_at) - Date.now();
      // Trust the server's expiry unless the clocks disagree wildly.
      const expires = Date.now() + (lifetime > 0 && lifetime < 10_000 ? lifetime : 4_000);
      const inChat = new Map(typing.value.get(t.chat_id) ?? []);
      inChat.set(t.user_id, expires);
      typing.value = setIn(typing.value, t.chat_id, inChat);
      return;
    }
    default: {
      const envelope = data as Envelope;
      if (typeof envelope?.id !== 'string' || !recent.firstTime(envelope.id)) return;
      if (pending) pending.push(envelope);
      else apply(envelope, false);
    }
  }
}

function clearTyping(chatId: number, userId: number) {
  const inChat = typing.value.get(chatId);
  if (!inChat?.has(userId)) return;
  const next = new Map(inChat);
  next.delete(userId);
  typing.value = setIn(typing.value, chatId, next);
}

function fromPayload(p: MessagePayload, previous?: Message): Message {
  return {
    id: p.id,
    chat_id: p.chat_id,
    sender_id: p.sender_id,
    content: p.content,
    reply_to: p.reply_to,
    // The event does not carry a root's counts or the integration: keep what the page said.
    thread_root_id: previous?.thread_root_id ?? null,
    reply_count: previous?.reply_count ?? 0,
    last_reply_at: previous?.last_reply_at ?? null,
    integration: previous?.integration ?? null,
    mentions: p.mentions,
    reactions: previous?.reactions ?? [],
    files: previous?.files ?? [],
    created_at: p.created_at,
    edited_at: p.edited_at,
  };
}

function apply(envelope: Envelope, afterCatchUp: boolean) {
  const myId = me.value?.id;
  const data = envelope.data as Record<string, unknown>;
  switch (envelope.kind) {
    case 'message.created': {
      const p = data as unknown as MessagePayload;
      if (!users.value.has(p.sender_id)) refreshDirectorySoon();
      clearTyping(p.chat_id, p.sender_id);
      if (timelines.value.has(p.chat_id)) {
        updateTimeline(p.chat_id, (t) => upsert(t, fromPayload(p)));
        // The event names files by id only: the page has their names and sizes.
        if (p.files.length > 0) void loadNewest(p.chat_id);
      }
      if (!chats.value.has(p.chat_id)) {
        void reloadChat(p.chat_id);
      } else if (p.sender_id !== myId) {
        if (afterCatchUp) recount.add(p.chat_id);
        else if (!markReadIfVisible(p.chat_id, p.id)) {
          const mentioned = myId !== undefined && p.mentions.includes(myId);
          updateChat(p.chat_id, (c) =>
            p.id > (c.last_read_message_id ?? 0)
              ? { ...c, unread_count: c.unread_count + 1, mention_count: c.mention_count + (mentioned ? 1 : 0) }
              : c,
          );
        }
      }
      return;
    }
    case 'message.updated': {
      const p = data as unknown as MessagePayload;
      updateTimeline(p.chat_id, (t) => {
        const previous = t.messages.find((m) => m.id === p.id);
        return previous ? upsert(t, fromPayload(p, previous)) : t;
      });
      return;
    }
    case 'message.deleted': {
      const p = data as { id: number; chat_id: number };
      if (timelines.value.has(p.chat_id)) updateTimeline(p.chat_id, (t) => remove(t, p.id));
      return;
    }
    case 'message.reaction_added':
    case 'message.reaction_removed': {
      const p = data as { message_id: number; chat_id: number; user_id: number; emoji: string };
      const added = envelope.kind === 'message.reaction_added';
      updateTimeline(p.chat_id, (t) => patch(t, p.message_id, (m) => react(m, p.emoji, added, p.user_id === myId)));
      return;
    }
    case 'thread.updated': {
      const p = data as unknown as ThreadUpdated;
      updateTimeline(p.chat_id, (t) => patch(t, p.root_id, (m) => withThread(m, p)));
      return;
    }
    case 'chat.read': {
      const p = data as { chat_id: number; last_read_message_id: number };
      updateChat(p.chat_id, (c) => ({ ...c, last_read_message_id: Math.max(c.last_read_message_id ?? 0, p.last_read_message_id) }));
      // The counts after the marker are the server's to say (another tab read part of it).
      void reloadChat(p.chat_id);
      return;
    }
    case 'chat.created':
    case 'chat.updated': {
      const id = (data.id as number) ?? envelope.chat_id;
      void reloadChat(id);
      return;
    }
    case 'chat.deleted': {
      const id = (data.id as number) ?? envelope.chat_id;
      chats.value = deleteIn(chats.value, id);
      timelines.value = deleteIn(timelines.value, id);
      return;
    }
    case 'chat.member_added':
    case 'chat.member_removed': {
      const p = data as { chat_id: number; user_id: number };
      if (!users.value.has(p.user_id)) refreshDirectorySoon();
      if (p.user_id === myId) {
        if (envelope.kind === 'chat.member_added') void reloadChat(p.chat_id);
        else {
          chats.value = deleteIn(chats.value, p.chat_id);
          timelines.value = deleteIn(timelines.value, p.chat_id);
        }
        return;
      }
      if (members.value.has(p.chat_id)) void loadMembers(p.chat_id);
      void reloadChat(p.chat_id);
      return;
    }
    case 'session.revoked': {
      const sid = tokenSessionId(session.value?.access_token);
      if (sid !== null && data.session_id === sid) end(SESSION_ENDED);
      return;
    }
    case 'user.signed_up':
      refreshDirectorySoon();
      return;
    default:
      return;
  }
}

export function resetLive() {
  resumed = false;
  pending = null;
  recount.clear();
}
