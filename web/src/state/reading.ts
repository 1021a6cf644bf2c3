// Read state, sent as the user reads: when the open chat's newest message is on screen (the view
// is scrolled to the bottom and the page is visible), the read marker moves to it.

import { signal } from '@preact/signals';
import { chats as chatApi } from '../api/endpoints';
import { track } from '../analytics/analytics';
import { route } from '../router';
import { chats, timelineOf, updateChat } from './store';

/** Set by the chat view: its newest message is on screen. */
export const atBottom = signal(true);
const sent = new Map<number, number>();

/** Marks `chatId` read up to its newest loaded message (or `newest`) when the user can see it;
 *  whether they can. */
export function markReadIfVisible(chatId: number, newest?: number): boolean {
  const open = route.value.name === 'chat' && route.value.chatId === chatId;
  if (!open || document.visibilityState !== 'visible' || !atBottom.value) return false;
  const loaded = timelineOf(chatId).messages;
  const last = Math.max(newest ?? 0, loaded.length ? loaded[loaded.length - 1]!.id : 0);
  const chat = chats.value.get(chatId);
  if (!chat || last === 0) return true;
  if (last <= (chat.last_read_message_id ?? 0) && chat.unread_count === 0) return true;
  if ((sent.get(chatId) ?? 0) >= last && chat.unread_count === 0) return true;
  sent.set(chatId, last);
  updateChat(chatId, (c) => ({
    ...c,
    unread_count: 0,
    mention_count: 0,
    last_read_message_id: Math.max(c.last_read_message_id ?? 0, last),
  }));
  chatApi
    .markRead(chatId, last)
    .then(() => track('message_read', { chat_id: chatId }))
    .catch(() => sent.delete(chatId));
  return true;
}

document.addEventListener('visibilitychange', () => {
  if (route.value.name === 'chat') markReadIfVisible(route.value.chatId);
});
