// The client's state, as signals the views read. Updates replace the Map or object they change,
// so every view that reads it re-renders.

import { computed, signal } from '@preact/signals';
import type { Chat, Me, Member, User } from '../api/types';
import { emptyTimeline, type Timeline } from './timeline';

export const me = signal<Me | null>(null);
export const users = signal<Map<number, User>>(new Map());
export const chats = signal<Map<number, Chat>>(new Map());
/** For direct chats: the other person's id. */
export const directPeers = signal<Map<number, number>>(new Map());
export const timelines = signal<Map<number, Timeline>>(new Map());
export const members = signal<Map<number, Member[]>>(new Map());
export const online = signal<Set<number>>(new Set());
/** chat id → user id → when their typing indicator lapses (epoch ms). */
export const typing = signal<Map<number, Map<number, number>>>(new Map());
/** A short notice (errors, "reconnected"), cleared after a while. */
export const notice = signal<{ text: string; kind: 'error' | 'info' } | null>(null);

export function setIn<K, V>(map: Map<K, V>, key: K, value: V): Map<K, V> {
  const next = new Map(map);
  next.set(key, value);
  return next;
}

export function deleteIn<K, V>(map: Map<K, V>, key: K): Map<K, V> {
  const next = new Map(map);
  next.delete(key);
  return next;
}

export function timelineOf(chatId: number): Timeline {
  return timelines.value.get(chatId) ?? emptyTimeline();
}

export function updateTimeline(chatId: number, change: (t: Timeline) => Timeline) {
  timelines.value = setIn(timelines.value, chatId, change(timelineOf(chatId)));
}

export function updateChat(chatId: number, change: (c: Chat) => Chat) {
  const chat = chats.value.get(chatId);
  if (chat) chats.value = setIn(chats.value, chatId, change(chat));
}

export function userName(id: number | null | undefined): string {
  if (id === null || id === undefined) return 'someone';
  return users.value.get(id)?.fullname ?? `user ${id}`;
}

export function chatTitle(chat: Chat): string {
  if (chat.chat_type === 'direct') {
    const peer = directPeers.value.get(chat.id);
    return peer === undefined ? 'Direct chat' : userName(peer);
  }
  if (chat.name) return chat.chat_type.endsWith('channel') ? `#${chat.name}` : chat.name;
  return 'Group';
}

export const totalUnread = computed(() => {
  let n = 0;
  for (const chat of chats.value.values()) n += chat.unread_count;
  return n;
});

let noticeTimer: ReturnType<typeof setTimeout> | undefined;
export function showNotice(text: string, kind: 'error' | 'info' = 'error') {
  notice.value = { text, kind };
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (notice.value = null), 6000);
}

export function resetStore() {
  me.value = null;
  users.value = new Map();
  chats.value = new Map();
  directPeers.value = new Map();
  timelines.value = new Map();
  members.value = new Map();
  online.value = new Set();
  typing.value = new Map();
}
