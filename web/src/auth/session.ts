// The signed-in session: tokens kept in localStorage (shared by the tabs of this browser), an
// access token refreshed before it expires, and one refresh at a time across tabs. Refresh tokens
// rotate and a reused one revokes the whole session, so two tabs must never spend the same one:
// a Web Lock serialises refreshes and each re-reads storage inside the lock.

import { signal } from '@preact/signals';
import type { AuthTokens, User } from '../api/types';

const STORAGE_KEY = 'fechatter.session';
/** Refresh when this share of the token's lifetime has passed. */
const REFRESH_AT = 0.75;
/** A token this close to expiry (at most a quarter of its lifetime) is refreshed before use. */
const EXPIRY_MARGIN_MS = 15_000;

export interface StoredSession {
  access_token: string;
  refresh_token: string;
  /** Epoch milliseconds. */
  issued_at: number;
  expires_at: number;
  user: User;
}

export const session = signal<StoredSession | null>(load());
/** Shown on the sign-in screen after a session ended without the user signing out here. */
export const endedMessage = signal<string | null>(null);

function load(): StoredSession | null {
  try {
    const text = localStorage.getItem(STORAGE_KEY);
    if (!text) return null;
    const parsed = JSON.parse(text) as StoredSession;
    return parsed.access_token && parsed.refresh_token ? parsed : null;
  } catch {
    return null;
  }
}

function save(value: StoredSession | null) {
  if (value) localStorage.setItem(STORAGE_KEY, JSON.stringify(value));
  else localStorage.removeItem(STORAGE_KEY);
}

/** The `sid` claim: the sign-in session the access token belongs to. */
export function sessionId(token: string | undefined): string | null {
  if (!token) return null;
  try {
    const payload = token.split('.')[1] ?? '';
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(json) as { sid?: unknown };
    return typeof claims.sid === 'string' ? claims.sid : null;
  } catch {
    return null;
  }
}

export function adopt(tokens: AuthTokens) {
  const now = Date.now();
  const value: StoredSession = {
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    issued_at: now,
    expires_at: now + tokens.expires_in * 1000,
    user: tokens.user,
  };
  save(value);
  endedMessage.value = null;
  session.value = value;
  schedule();
}

/** Forgets the session; `message` says why when the user did not ask for it. */
export function end(message: string | null) {
  save(null);
  clearTimeout(timer);
  endedMessage.value = message;
  session.value = null;
}

export const SESSION_ENDED =
  'Your session has ended (it was signed out elsewhere or expired). Please sign in again.';

let inFlight: Promise<RefreshOutcome> | null = null;
export type RefreshOutcome = 'refreshed' | 'ended' | 'unavailable';

/** Refreshes the access token (once, whatever the number of callers). */
export function refresh(): Promise<RefreshOutcome> {
  const seen = session.value?.refresh_token;
  if (!seen) return Promise.resolve('ended');
  inFlight ??= withLock(() => refreshOnce(seen)).finally(() => {
    inFlight = null;
  });
  return inFlight;
}

async function withLock<T>(work: () => Promise<T>): Promise<T> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  if (!locks) return work();
  return locks.request('fechatter.refresh', work) as Promise<T>;
}

async function refreshOnce(seen: string): Promise<RefreshOutcome> {
  const stored = load();
  if (!stored) {
    end(SESSION_ENDED);
    return 'ended';
  }
  if (stored.refresh_token !== seen) {
    // Another tab refreshed while we waited for the lock: use its tokens.
    session.value = stored;
    schedule();
    return 'refreshed';
  }
  let response: Response;
  try {
    response = await fetch('/api/refresh', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh_token: seen }),
    });
  } catch {
    schedule(5_000);
    return 'unavailable';
  }
  if (response.ok) {
    adopt((await response.json()) as AuthTokens);
    return 'refreshed';
  }
  if (response.status === 401) {
    end(SESSION_ENDED);
    return 'ended';
  }
  schedule(5_000);
  return 'unavailable';
}

/** A usable access token, refreshed first when it is about to expire; null when signed out. */
export async function accessToken(): Promise<string | null> {
  const current = session.value;
  if (!current) return null;
  const margin = Math.min(EXPIRY_MARGIN_MS, (current.expires_at - current.issued_at) / 4);
  if (current.expires_at - Date.now() > margin) return current.access_token;
  const outcome = await refresh();
  return outcome === 'ended' ? null : (session.value?.access_token ?? null);
}

let timer: ReturnType<typeof setTimeout> | undefined;
function schedule(after?: number) {
  clearTimeout(timer);
  const current = session.value;
  if (!current) return;
  const lifetime = current.expires_at - current.issued_at;
  const due = after ?? Math.max(1_000, current.issued_at + lifetime * REFRESH_AT - Date.now());
  timer = setTimeout(() => void refresh(), due);
}

// Another tab signed in, refreshed or signed out.
window.addEventListener('storage', (event) => {
  if (event.key !== STORAGE_KEY) return;
  const stored = load();
  if (!stored) {
    if (session.value) end(null);
    return;
  }
  if (stored.access_token !== session.value?.access_token) {
    session.value = stored;
    schedule();
  }
});

schedule();
