// Loading over REST: the directory, the chat list (with direct chats' peers), a chat's newest
// page and older pages, its members. Also used to catch up after a fresh connect or a `resync`.

import { chats as chatApi, messages as messageApi, users as userApi } from '../api/endpoints';
import type { Chat } from '../api/types';
import { session } from '../auth/session';
import {
  chats,
  deleteIn,
  directPeers,
  me,
  members,
  setIn,
  timelineOf,
  timelines,
  updateTimeline,
  users,
} from './store';
import { withNewestPage, withOlderPage } from './timeline';

export const NEWEST_PAGE = 50;
const OLDER_PAGE = 50;

export async function loadDirectory() {
  const list = await userApi.directory();
  users.value = new Map(list.map((u) => [u.id, u]));
}

let directoryTimer: ReturnType<typeof setTimeout> | undefined;
/** Someone unknown appeared (a new sign-up, the bot): reload the directory soon, once. */
export function refreshDirectorySoon() {
  clearTimeout(directoryTimer);
  directoryTimer = setTimeout(() => void loadDirectory().catch(() => undefined), 300);
}

export async function loadMe() {
  me.value = await userApi.me();
}

async function peerOf(chat: Chat): Promise<number | undefined> {
  const mine = session.value?.user.id;
  const list = await chatApi.members(chat.id);
  members.value = setIn(members.value, chat.id, list);
  return list.find((m) => m.user_id !== mine)?.user_id;
}

export async function loadChats() {
  const list = await chatApi.list();
  chats.value = new Map(list.map((c) => [c.id, c]));
  const unknown = list.filter((c) => c.chat_type === 'direct' && !directPeers.value.has(c.id));
  const peers = await Promise.all(unknown.map(async (c) => [c.id, await peerOf(c)] as const));
  let next = directPeers.value;
  for (const [id, peer] of peers) if (peer !== undefined) next = setIn(next, id, peer);
  directPeers.value = next;
}

/** One chat fetched again (a live event said it changed in a way the event does not carry). */
export async function reloadChat(chatId: number) {
  try {
    const chat = await chatApi.get(chatId);
    chats.value = setIn(chats.value, chatId, chat);
    if (chat.chat_type === 'direct' && !directPeers.value.has(chatId)) {
      const peer = await peerOf(chat);
      if (peer !== undefined) directPeers.value = setIn(directPeers.value, chatId, peer);
    }
  } catch {
    // Gone or no longer ours: the list will not show it.
    chats.value = deleteIn(chats.value, chatId);
  }
}

export async function loadNewest(chatId: number) {
  const page = await messageApi.page(chatId, null, NEWEST_PAGE);
  updateTimeline(chatId, (t) => withNewestPage(t, page));
}

const loadingOlder = new Set<number>();
/** The next older page of a chat (scrolling back); false when there is none. */
export async function loadOlder(chatId: number): Promise<boolean> {
  const t = timelineOf(chatId);
  if (!t.hasMore || t.nextBefore === null || loadingOlder.has(chatId)) return false;
  loadingOlder.add(chatId);
  try {
    const page = await messageApi.page(chatId, t.nextBefore, OLDER_PAGE);
    updateTimeline(chatId, (current) => withOlderPage(current, page));
    return page.items.length > 0;
  } finally {
    loadingOlder.delete(chatId);
  }
}

export async function loadMembers(chatId: number) {
  const list = await chatApi.members(chatId);
  members.value = setIn(members.value, chatId, list);
}

/** Forget every loaded window except `keep`'s, which is refetched; others load when opened. */
export async function refetchVisible(keep: number | null) {
  timelines.value = keep !== null && timelines.value.has(keep)
    ? new Map([[keep, timelineOf(keep)]])
    : new Map();
  const tasks: Promise<unknown>[] = [loadChats(), loadDirectory()];
  if (keep !== null) tasks.push(loadNewest(keep), loadMembers(keep));
  await Promise.all(tasks);
}
