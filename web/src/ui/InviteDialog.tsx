import { useState } from 'preact/hooks';
import { auth } from '../api/endpoints';
import { ApiError } from '../api/http';
import type { Invite } from '../api/types';
import { Modal } from './Modal';

export function InviteDialog({ onClose }: { onClose(): void }) {
  const [invite, setInvite] = useState<Invite | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function create() {
    setError(null);
    try {
      setInvite(await auth.invite());
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'Could not create an invite.');
    }
  }

  return (
    <Modal title="Invite people" onClose={onClose}>
      <div class="dialog-form">
        <p>An invite code lets someone sign up into this workspace.</p>
        {invite ? (
          <>
            <output class="invite-code" data-testid="invite-code">
              {invite.code}
            </output>
            <p class="muted">
              Valid for {invite.max_uses} sign-ups until {new Date(invite.expires_at).toLocaleString()}. It is
              shown only once.
            </p>
            <button type="button" onClick={() => void navigator.clipboard?.writeText(invite.code)}>
              Copy
            </button>
          </>
        ) : (
          <button type="button" class="primary" onClick={() => void create()}>
            Create an invite code
          </button>
        )}
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
      </div>
    </Modal>
  );
}
