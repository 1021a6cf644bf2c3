// The shapes of fechatter_server's API (its `GET /api/openapi.json`) that the client uses.
// Ids of rows are integers; event ids and stream cursors are opaque strings.

export type Role = 'member' | 'admin' | 'owner';
export type ChatType = 'direct' | 'group' | 'private_channel' | 'public_channel';

export interface User {
  id: number;
  workspace_id: number;
  fullname: string;
  handle: string;
  email?: string | null;
  is_bot: boolean;
  workspace_role: Role;
  created_at: string;
}

export interface Me extends User {
  workspace_name: string;
}

export interface AuthTokens {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  user: User;
}

export interface Page<T> {
  items: T[];
  next_before: number | null;
  has_more: boolean;
}

export interface Chat {
  id: number;
  workspace_id: number;
  chat_type: ChatType;
  name: string | null;
  description: string | null;
  owner_id: number;
  created_at: string;
  updated_at: string;
  role: Role;
  member_count: number;
  last_read_message_id: number | null;
  unread_count: number;
  mention_count: number;
}

export interface PublicChannel {
  id: number;
  name: string | null;
  description: string | null;
  owner_id: number;
  created_at: string;
  member_count: number;
  joined: boolean;
}

export interface Member {
  user_id: number;
  fullname: string;
  handle: string;
  is_bot: boolean;
  role: Role;
  joined_at: string;
}

export interface FileInfo {
  id: number;
  uploader_id: number;
  filename: string;
  content_type: string;
  size_bytes: number;
  sha256: string;
  created_at: string;
}

export interface ReactionCount {
  emoji: string;
  count: number;
  me: boolean;
}

export interface Message {
  id: number;
  chat_id: number;
  sender_id: number;
  content: string;
  reply_to: number | null;
  /** The root of the thread this message replies in (`null` when it is no reply). */
  thread_root_id?: number | null;
  /** Live replies in this message's thread when it is a root. */
  reply_count?: number;
  last_reply_at?: string | null;
  /** The integration that posted it through an incoming webhook. */
  integration?: string | null;
  mentions: number[];
  reactions: ReactionCount[];
  files: FileInfo[];
  created_at: string;
  edited_at: string | null;
}

export interface ReadState {
  chat_id: number;
  last_read_message_id: number | null;
}

export interface SearchHit {
  message_id: number;
  chat_id: number;
  sender_id: number | null;
  content: string;
  /** HTML-escaped text with matches wrapped in `<mark>…</mark>`. */
  snippet: string;
  score: number;
  created_at: string;
  edited_at: string | null;
}

export interface SearchPage {
  items: SearchHit[];
  next_before: string | null;
  has_more: boolean;
}

export interface Invite {
  code: string;
  workspace_id: number;
  max_uses: number;
  expires_at: string;
}

/** A domain event as notify_server streams it (the envelope without `recipients`). */
export interface Envelope<D = Record<string, unknown>> {
  id: string;
  kind: string;
  version: number;
  occurred_at: string;
  workspace_id: number;
  chat_id: number | null;
  actor_id: number | null;
  data: D;
}

/** `message.created` / `message.updated` data: files are ids only. */
export interface MessagePayload {
  id: number;
  chat_id: number;
  chat_type: ChatType;
  sender_id: number;
  sender_is_bot?: boolean;
  content: string;
  reply_to: number | null;
  mentions: number[];
  files: number[];
  created_at: string;
  edited_at: string | null;
}

/** `thread.updated` data: to the thread's followers after a reply was added or deleted. */
export interface ThreadUpdated {
  chat_id: number;
  root_id: number;
  reply_id: number;
  sender_id: number;
  deleted: boolean;
  reply_count: number;
  last_reply_id: number | null;
  last_reply_at: string | null;
}

export interface ClientConfig {
  notify_url: string | null;
  analytics_url: string | null;
}
