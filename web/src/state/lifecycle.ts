// Signing in and out, and what starts and stops with a session: the first load, the live stream.

import { effect } from '@preact/signals';
import { auth, type SignupInput } from '../api/endpoints';
import { flush, track } from '../analytics/analytics';
import { adopt, end, session } from '../auth/session';
import type { Endpoints } from '../config';
import { navigate, route } from '../router';
import { loadChats, loadDirectory, loadMe } from './chatsync';
import { startLive, stopLive } from './live';
import { resetStore, showNotice } from './store';
import { pending } from './sending';

export async function signIn(email: string, password: string) {
  adopt(await auth.signin(email, password));
  track('user_login', { method: 'password' });
}

export async function signUp(input: SignupInput) {
  adopt(await auth.signup(input));
  track('user_login', { method: 'signup', invite: Boolean(input.invite_code) });
}

export async function signOut() {
  track('user_logout');
  await flush();
  try {
    await auth.signout();
  } catch {
    // Signed out here whatever the server says; the refresh token dies with its family anyway.
  }
  end(null);
}

/** Starts and stops everything with the session (this tab's sign-in, another tab's sign-out). */
export function followSession(endpoints: Endpoints) {
  let userId: number | null = null;
  effect(() => {
    const current = session.value;
    const next = current?.user.id ?? null;
    if (next === userId) return;
    userId = next;
    stopLive();
    resetStore();
    pending.value = new Map();
    if (next === null) {
      if (route.value.name !== 'signup') navigate({ name: 'signin' }, true);
      return;
    }
    if (route.value.name === 'signin' || route.value.name === 'signup') navigate({ name: 'home' }, true);
    Promise.all([loadMe(), loadDirectory(), loadChats()]).catch((err: Error) =>
      showNotice(`Loading failed: ${err.message}`),
    );
    startLive(endpoints.notify);
  });
}
