// Client analytics: session start and end, page views and key actions, sent in batches to
// analytics_server. Events are sent only with an access token (the server decides user and
// workspace from it); those recorded before sign-in wait for it. Each event has its own id, so a
// batch sent again after a failure is stored once.

import { accessToken } from '../auth/session';
import { uuid } from '../util/ids';
import { EventQueue, type ClientEvent } from './batch';

export type EventType =
  | 'app_start'
  | 'app_exit'
  | 'app_foreground'
  | 'app_background'
  | 'user_login'
  | 'user_logout'
  | 'chat_opened'
  | 'message_sent'
  | 'message_read'
  | 'reaction_added'
  | 'file_uploaded'
  | 'file_downloaded'
  | 'search_performed'
  | 'navigation'
  | 'notification_clicked'
  | 'error_reported';

declare const __APP_VERSION__: string;

const FLUSH_INTERVAL_MS = 2_000;
const BATCH_MAX = 50;
const CLIENT_KEY = 'fechatter.client_id';

const queue = new EventQueue();
let endpoint: string | null = null;
/** The send under way, if any: a flush that must include what is queued now waits for it. */
let inFlight: Promise<void> | null = null;
let timer: ReturnType<typeof setInterval> | undefined;

function clientId(): string {
  let id = localStorage.getItem(CLIENT_KEY);
  if (!id) {
    id = uuid();
    localStorage.setItem(CLIENT_KEY, id);
  }
  return id;
}

/** One session per page load: it starts with `app_start` and ends with `app_exit` or sign-out. */
export const sessionId = uuid();

function system(): Record<string, string> {
  const ua = navigator.userAgent;
  const os = /Android/.test(ua)
    ? 'android'
    : /iPhone|iPad/.test(ua)
      ? 'ios'
      : /Mac OS X/.test(ua)
        ? 'macos'
        : /Windows/.test(ua)
          ? 'windows'
          : /Linux/.test(ua)
            ? 'linux'
            : 'other';
  const device = /Mobi/.test(ua) || window.innerWidth < 720 ? 'phone-browser' : 'browser';
  return { os, locale: navigator.language || 'und', device };
}

export function track(type: EventType, properties: Record<string, unknown> = {}) {
  queue.push({
    event_id: uuid(),
    event_type: type,
    client_id: clientId(),
    session_id: sessionId,
    occurred_at: new Date().toISOString(),
    app_version: __APP_VERSION__,
    system: system(),
    properties,
  });
  if (queue.size >= BATCH_MAX) void flush();
}

export function startAnalytics(analyticsUrl: string) {
  endpoint = `${analyticsUrl.replace(/\/$/, '')}/api/events`;
  clearInterval(timer);
  timer = setInterval(() => void flush(), FLUSH_INTERVAL_MS);
  track('app_start', { path: location.pathname });
  document.addEventListener('visibilitychange', () => {
    track(document.visibilityState === 'visible' ? 'app_foreground' : 'app_background');
    if (document.visibilityState === 'hidden') void flush({ keepalive: true });
  });
  window.addEventListener('pagehide', () => {
    track('app_exit');
    void flush({ keepalive: true });
  });
}

/**
 * Sends what is queued. A send already under way took its batch before the caller's events were
 * queued, so this waits for it first (sign-out relies on it: its `user_logout` must go while the
 * token lasts). With `keepalive` the request outlives the page (unload): it goes at once, beside any
 * send under way, as the page may not live to see that one end.
 */
export async function flush(options: { keepalive?: boolean } = {}): Promise<void> {
  if (!options.keepalive) {
    while (inFlight) await inFlight;
  }
  if (!endpoint || queue.size === 0) return;
  const sending = send(endpoint, options);
  if (!options.keepalive) {
    inFlight = sending.finally(() => {
      inFlight = null;
    });
  }
  await sending;
  if (queue.size >= BATCH_MAX) void flush(options);
}

async function send(to: string, options: { keepalive?: boolean }): Promise<void> {
  const token = await accessToken();
  if (!token) return;
  const batch: ClientEvent[] = queue.take(BATCH_MAX);
  try {
    const response = await fetch(to, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ events: batch }),
      keepalive: options.keepalive,
    });
    // 202: stored (rejected ones are reported and would be rejected again). 400/413/422: the
    // batch itself is unacceptable; sending it again cannot help. Anything else: retry later.
    if (response.status === 202 || response.status === 400 || response.status === 413 || response.status === 422) {
      if (response.status !== 202) console.warn('analytics refused a batch', response.status);
    } else {
      queue.putBack(batch);
    }
  } catch {
    queue.putBack(batch);
  }
}
