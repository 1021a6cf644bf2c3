// fechatter_server's routes, typed. Paths and bodies follow its OpenAPI document.

import { request, send } from './http';
import type {
  AuthTokens,
  Chat,
  ChatType,
  Invite,
  Me,
  Member,
  Message,
  Page,
  PublicChannel,
  ReadState,
  Role,
  SearchPage,
  User,
} from './types';

const MAX_PAGE = 100;

/** Every page of a keyset-paginated list, up to `maxPages`. */
async function allPages<T>(path: string, maxPages = 20): Promise<T[]> {
  const items: T[] = [];
  let before: number | null = null;
  for (let i = 0; i < maxPages; i++) {
    const query: string = before === null ? '' : `&before=${before}`;
    const page: Page<T> = await request('GET', `${path}?limit=${MAX_PAGE}${query}`);
    items.push(...page.items);
    if (!page.has_more || page.next_before === null) break;
    before = page.next_before;
  }
  return items;
}

export interface SignupInput {
  fullname: string;
  email: string;
  password: string;
  workspace?: string;
  invite_code?: string;
}

export const auth = {
  signup: (input: SignupInput) =>
    request<AuthTokens>('POST', '/api/signup', { body: input, anonymous: true }),
  signin: (email: string, password: string) =>
    request<AuthTokens>('POST', '/api/signin', { body: { email, password }, anonymous: true }),
  signout: () => request<void>('POST', '/api/signout'),
  invite: () => request<Invite>('POST', '/api/workspace/invites', { body: {} }),
};

export const users = {
  me: () => request<Me>('GET', '/api/users/me'),
  directory: () => allPages<User>('/api/users'),
};

export interface CreateChatInput {
  chat_type: ChatType;
  name?: string;
  description?: string;
  members: number[];
}

export const chats = {
  list: () => allPages<Chat>('/api/chats'),
  get: (id: number) => request<Chat>('GET', `/api/chats/${id}`),
  create: (input: CreateChatInput) => request<Chat>('POST', '/api/chats', { body: input }),
  update: (id: number, input: { name?: string; description?: string }) =>
    request<Chat>('PATCH', `/api/chats/${id}`, { body: input }),
  remove: (id: number) => request<void>('DELETE', `/api/chats/${id}`),
  publicChannels: () => allPages<PublicChannel>('/api/chats/public'),
  members: (id: number) => allPages<Member>(`/api/chats/${id}/members`),
  addMember: (id: number, userId: number, role?: Role) =>
    request<Member>('POST', `/api/chats/${id}/members`, { body: { user_id: userId, role } }),
  removeMember: (id: number, userId: number) =>
    request<void>('DELETE', `/api/chats/${id}/members/${userId}`),
  typing: (id: number) => request<{ published: boolean }>('POST', `/api/chats/${id}/typing`),
  markRead: (id: number, messageId: number) =>
    request<ReadState>('POST', `/api/chats/${id}/read`, { body: { message_id: messageId } }),
};

export interface SendInput {
  content: string;
  reply_to?: number | null;
  files?: number[];
}

export const messages = {
  page: (chatId: number, before: number | null, limit = 50) =>
    request<Page<Message>>(
      'GET',
      `/api/chats/${chatId}/messages?limit=${limit}${before === null ? '' : `&before=${before}`}`,
    ),
  /** The same `key` on a retry returns the original message instead of a second one. */
  send: (chatId: number, input: SendInput, key: string) =>
    request<Message>('POST', `/api/chats/${chatId}/messages`, {
      body: input,
      headers: { 'Idempotency-Key': key },
    }),
  edit: (chatId: number, id: number, content: string) =>
    request<Message>('PATCH', `/api/chats/${chatId}/messages/${id}`, { body: { content } }),
  remove: (chatId: number, id: number) => request<void>('DELETE', `/api/chats/${chatId}/messages/${id}`),
  react: (chatId: number, id: number, emoji: string) =>
    send('PUT', `/api/chats/${chatId}/messages/${id}/reactions/${encodeURIComponent(emoji)}`),
  unreact: (chatId: number, id: number, emoji: string) =>
    send('DELETE', `/api/chats/${chatId}/messages/${id}/reactions/${encodeURIComponent(emoji)}`),
};

export const search = (q: string, chatId?: number, limit = 30) =>
  request<SearchPage>(
    'GET',
    `/api/search?q=${encodeURIComponent(q)}&limit=${limit}${chatId ? `&chat_id=${chatId}` : ''}`,
  );
