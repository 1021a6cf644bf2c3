import { useEffect, useState } from 'preact/hooks';
import { chats as chatApi } from '../api/endpoints';
import { ApiError } from '../api/http';
import type { ChatType } from '../api/types';
import { navigate } from '../router';
import { loadDirectory, reloadChat } from '../state/chatsync';
import { me, users } from '../state/store';
import { Modal } from './Modal';

const TYPES: { type: ChatType; label: string; hint: string }[] = [
  { type: 'public_channel', label: 'Public channel', hint: 'Anyone in the workspace can find and join it.' },
  { type: 'private_channel', label: 'Private channel', hint: 'Only the people added can see it.' },
  { type: 'group', label: 'Group', hint: 'A small conversation among a few people.' },
  { type: 'direct', label: 'Direct message', hint: 'Just you and one other person.' },
];

export function NewChatDialog({ onClose }: { onClose(): void }) {
  const [type, setType] = useState<ChatType>('public_channel');
  const [picked, setPicked] = useState<number[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const people = [...users.value.values()]
    .filter((u) => u.id !== me.value?.id && !u.is_bot)
    .sort((a, b) => a.fullname.localeCompare(b.fullname));
  const direct = type === 'direct';

  // People who joined since the directory was loaded can be picked too.
  useEffect(() => {
    loadDirectory().catch(() => undefined);
  }, []);

  function toggle(id: number) {
    if (direct) setPicked([id]);
    else setPicked(picked.includes(id) ? picked.filter((x) => x !== id) : [...picked, id]);
  }

  async function create(e: Event) {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const name = String(form.get('name') ?? '').trim();
    const description = String(form.get('description') ?? '').trim();
    if (direct && picked.length !== 1) return setError('Pick the person to talk to.');
    setBusy(true);
    setError(null);
    try {
      const chat = await chatApi.create({
        chat_type: type,
        members: picked,
        ...(direct ? {} : { name: name || undefined, description: description || undefined }),
      });
      await reloadChat(chat.id);
      navigate({ name: 'chat', chatId: chat.id });
      onClose();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'Could not create the chat.');
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal title="New chat" onClose={onClose}>
      <form class="dialog-form" onSubmit={create}>
        <fieldset>
          <legend>Kind</legend>
          {TYPES.map((t) => (
            <label class="inline" key={t.type} title={t.hint}>
              <input
                type="radio"
                name="chat_type"
                value={t.type}
                checked={type === t.type}
                onChange={() => {
                  setType(t.type);
                  if (t.type === 'direct') setPicked(picked.slice(0, 1));
                }}
              />
              {t.label}
            </label>
          ))}
        </fieldset>
        {!direct && (
          <>
            <label>
              Name {type === 'group' && <span class="muted">(optional)</span>}
              <input name="name" required={type !== 'group'} maxLength={80} />
            </label>
            <label>
              Description <span class="muted">(optional)</span>
              <input name="description" maxLength={300} />
            </label>
          </>
        )}
        <fieldset class="people">
          <legend>{direct ? 'Person' : 'Members'}</legend>
          {people.length === 0 && <p class="muted">No one else is in the workspace yet: invite people first.</p>}
          {people.map((u) => (
            <label class="inline" key={u.id}>
              <input
                type={direct ? 'radio' : 'checkbox'}
                name="member"
                checked={picked.includes(u.id)}
                onChange={() => toggle(u.id)}
              />
              {u.fullname} <span class="muted">@{u.handle}</span>
            </label>
          ))}
        </fieldset>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          Create
        </button>
      </form>
    </Modal>
  );
}
