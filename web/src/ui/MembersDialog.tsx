import { useEffect, useState } from 'preact/hooks';
import { chats as chatApi } from '../api/endpoints';
import { ApiError } from '../api/http';
import type { Member, Role } from '../api/types';
import { navigate } from '../router';
import { loadMembers, reloadChat } from '../state/chatsync';
import { chats, chatTitle, deleteIn, me, members, online, users } from '../state/store';
import { Modal } from './Modal';

const RANK: Record<Role, number> = { member: 0, admin: 1, owner: 2 };

/** Who may remove `target` (the chat rules of fechatter_server: the owner anyone else, an admin
 *  plain members, anyone themselves except the owner). */
function mayRemove(actor: Role, target: Member, self: boolean): boolean {
  if (self) return actor !== 'owner';
  if (actor === 'owner') return true;
  return actor === 'admin' && target.role === 'member';
}

export function MembersDialog({ chatId, onClose }: { chatId: number; onClose(): void }) {
  const chat = chats.value.get(chatId);
  const list = members.value.get(chatId) ?? [];
  const [error, setError] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const myId = me.value?.id;

  useEffect(() => {
    loadMembers(chatId).catch(() => undefined);
  }, [chatId]);

  if (!chat) return null;
  const role = chat.role;
  const manage = RANK[role] >= RANK.admin;
  const inChat = new Set(list.map((m) => m.user_id));
  const addable = [...users.value.values()].filter((u) => !inChat.has(u.id) && !u.is_bot);

  async function run(action: () => Promise<unknown>) {
    setError(null);
    try {
      await action();
      await Promise.all([loadMembers(chatId), reloadChat(chatId)]);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'That did not work.');
    }
  }

  async function leaveOrDelete(action: () => Promise<unknown>) {
    setError(null);
    try {
      await action();
      chats.value = deleteIn(chats.value, chatId);
      onClose();
      navigate({ name: 'home' });
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'That did not work.');
    }
  }

  return (
    <Modal title={`${chatTitle(chat)}: members`} onClose={onClose}>
      <div class="dialog-form">
        {manage && (
          <form
            class="row"
            onSubmit={(e) => {
              e.preventDefault();
              const form = new FormData(e.currentTarget);
              const name = String(form.get('name') ?? '').trim();
              const description = String(form.get('description') ?? '').trim();
              void run(() => chatApi.update(chatId, { name, description }));
            }}
          >
            <label>
              Name
              <input name="name" defaultValue={chat.name ?? ''} required />
            </label>
            <label>
              Description
              <input name="description" defaultValue={chat.description ?? ''} />
            </label>
            <button type="submit">Save</button>
          </form>
        )}
        <ul class="member-list" role="list" data-testid="member-list">
          {list.map((m) => (
            <li key={m.user_id}>
              <span class={`dot ${online.value.has(m.user_id) ? 'on' : 'off'}`} aria-label={online.value.has(m.user_id) ? 'online' : 'offline'} />
              <span>
                {m.fullname} <span class="muted">@{m.handle}</span>
              </span>
              <span class={`role role-${m.role}`}>{m.role}</span>
              {mayRemove(role, m, m.user_id === myId) && m.user_id !== myId && (
                <button type="button" onClick={() => void run(() => chatApi.removeMember(chatId, m.user_id))}>
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
        {manage && addable.length > 0 && (
          <form
            class="row"
            onSubmit={(e) => {
              e.preventDefault();
              const form = new FormData(e.currentTarget);
              const user = Number(form.get('user'));
              const newRole = (form.get('role') as Role | null) ?? 'member';
              if (user) void run(() => chatApi.addMember(chatId, user, newRole));
            }}
          >
            <label>
              Add
              <select name="user" aria-label="Person to add">
                {addable.map((u) => (
                  <option key={u.id} value={u.id}>
                    {u.fullname}
                  </option>
                ))}
              </select>
            </label>
            {role === 'owner' && (
              <label>
                as
                <select name="role" aria-label="Role">
                  <option value="member">member</option>
                  <option value="admin">admin</option>
                </select>
              </label>
            )}
            <button type="submit">Add</button>
          </form>
        )}
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <div class="row end">
          {role !== 'owner' && myId !== undefined && (
            <button type="button" onClick={() => void leaveOrDelete(() => chatApi.removeMember(chatId, myId))}>
              Leave
            </button>
          )}
          {role === 'owner' &&
            (confirmDelete ? (
              <>
                <span>Delete this chat for everyone?</span>
                <button type="button" class="danger" onClick={() => void leaveOrDelete(() => chatApi.remove(chatId))}>
                  Delete
                </button>
                <button type="button" onClick={() => setConfirmDelete(false)}>
                  Cancel
                </button>
              </>
            ) : (
              <button type="button" class="danger" onClick={() => setConfirmDelete(true)}>
                Delete chat
              </button>
            ))}
        </div>
      </div>
    </Modal>
  );
}
