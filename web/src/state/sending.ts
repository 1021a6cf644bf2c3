// Sending a message: shown at once as pending, posted with an Idempotency-Key, retried with the
// same key after a network error or an overload, so the server stores it once however many
// attempts reach it. A send that keeps failing stays on screen with a retry button.

import { signal } from '@preact/signals';
import { messages as messageApi, type SendInput } from '../api/endpoints';
import { ApiError } from '../api/http';
import type { FileInfo } from '../api/types';
import { track } from '../analytics/analytics';
import { uuid } from '../util/ids';
import { setIn, updateTimeline } from './store';
import { upsert } from './timeline';
import { backoffDelay } from '../live/backoff';

export interface PendingMessage {
  key: string;
  chatId: number;
  content: string;
  replyTo: number | null;
  files: FileInfo[];
  state: 'sending' | 'failed';
  error?: string;
}

/** chat id → its messages on their way. */
export const pending = signal<Map<number, PendingMessage[]>>(new Map());

const ATTEMPTS = 5;

function setPending(chatId: number, change: (list: PendingMessage[]) => PendingMessage[]) {
  pending.value = setIn(pending.value, chatId, change(pending.value.get(chatId) ?? []));
}

export function sendMessage(chatId: number, content: string, replyTo: number | null, files: FileInfo[]) {
  const message: PendingMessage = { key: uuid(), chatId, content, replyTo, files, state: 'sending' };
  setPending(chatId, (list) => [...list, message]);
  void deliver(message);
}

export function retry(message: PendingMessage) {
  setPending(message.chatId, (list) =>
    list.map((m) => (m.key === message.key ? { ...m, state: 'sending', error: undefined } : m)),
  );
  void deliver(message);
}

export function discard(message: PendingMessage) {
  setPending(message.chatId, (list) => list.filter((m) => m.key !== message.key));
}

async function deliver(message: PendingMessage) {
  const input: SendInput = {
    content: message.content,
    reply_to: message.replyTo,
    files: message.files.map((f) => f.id),
  };
  for (let attempt = 0; ; attempt++) {
    try {
      const sent = await messageApi.send(message.chatId, input, message.key);
      updateTimeline(message.chatId, (t) => upsert(t, sent));
      discard(message);
      track('message_sent', {
        chat_id: message.chatId,
        reply: message.replyTo !== null,
        files: message.files.length,
        mentions: sent.mentions.length,
        attempts: attempt + 1,
      });
      return;
    } catch (err) {
      const error = err instanceof ApiError ? err : new ApiError(0, 'network', String(err));
      if (!error.isTransient || attempt + 1 >= ATTEMPTS) {
        setPending(message.chatId, (list) =>
          list.map((m) => (m.key === message.key ? { ...m, state: 'failed', error: error.message } : m)),
        );
        return;
      }
      await new Promise((r) => setTimeout(r, backoffDelay(attempt + 1, error.retryAfterMs)));
    }
  }
}
