import { useState } from 'preact/hooks';
import { ApiError } from '../api/http';
import { endedMessage } from '../auth/session';
import { navigate } from '../router';
import { signIn, signUp } from '../state/lifecycle';

export function AuthScreen({ mode }: { mode: 'signin' | 'signup' }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [joining, setJoining] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const field = (name: string) => String(form.get(name) ?? '').trim();
    setBusy(true);
    setError(null);
    try {
      if (mode === 'signin') await signIn(field('email'), String(form.get('password') ?? ''));
      else
        await signUp({
          fullname: field('fullname'),
          email: field('email'),
          password: String(form.get('password') ?? ''),
          ...(joining ? { invite_code: field('invite_code') } : { workspace: field('workspace') }),
        });
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'Something went wrong; try again.');
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="auth">
      <form class="auth-card" onSubmit={submit} aria-labelledby="auth-title">
        <div class="brand">
          <img src="/favicon.svg" alt="" width={36} height={36} />
          <span>Fechatter</span>
        </div>
        <h1 id="auth-title">{mode === 'signin' ? 'Sign in' : 'Create your account'}</h1>
        {endedMessage.value && mode === 'signin' && (
          <p class="auth-ended" role="alert" data-testid="session-ended">
            {endedMessage.value}
          </p>
        )}
        {mode === 'signup' && (
          <label>
            Full name
            <input name="fullname" autoComplete="name" required />
          </label>
        )}
        <label>
          Email
          <input name="email" type="email" autoComplete="email" required />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            minLength={mode === 'signup' ? 8 : undefined}
            autoComplete={mode === 'signup' ? 'new-password' : 'current-password'}
            required
          />
        </label>
        {mode === 'signup' && (
          <fieldset class="auth-choice">
            <legend>Workspace</legend>
            <label class="inline">
              <input type="radio" name="how" checked={!joining} onChange={() => setJoining(false)} />
              Start a new workspace
            </label>
            <label class="inline">
              <input type="radio" name="how" checked={joining} onChange={() => setJoining(true)} />
              Join with an invite code
            </label>
            {joining ? (
              <label>
                Invite code
                <input name="invite_code" required autoComplete="off" />
              </label>
            ) : (
              <label>
                Workspace name
                <input name="workspace" required />
              </label>
            )}
          </fieldset>
        )}
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <button class="primary" type="submit" disabled={busy}>
          {busy ? 'Please wait…' : mode === 'signin' ? 'Sign in' : 'Sign up'}
        </button>
        <p class="auth-switch">
          {mode === 'signin' ? 'New here? ' : 'Have an account? '}
          <a
            href={mode === 'signin' ? '/signup' : '/signin'}
            onClick={(e) => {
              e.preventDefault();
              setError(null);
              navigate({ name: mode === 'signin' ? 'signup' : 'signin' });
            }}
          >
            {mode === 'signin' ? 'Create an account' : 'Sign in'}
          </a>
        </p>
      </form>
    </main>
  );
}
