import { useEffect, useState } from 'preact/hooks';
import { chats as chatApi } from '../api/endpoints';
import { ApiError } from '../api/http';
import type { PublicChannel } from '../api/types';
import { Icon } from './Icon';
import { navigate } from '../router';
import { reloadChat } from '../state/chatsync';
import { me, showNotice } from '../state/store';

export function BrowseChannels() {
  const [list, setList] = useState<PublicChannel[] | null>(null);

  useEffect(() => {
    chatApi
      .publicChannels()
      .then(setList)
      .catch(() => showNotice('Could not load the channels.'));
  }, []);

  async function join(channel: PublicChannel) {
    const user = me.value;
    if (!user) return;
    try {
      await chatApi.addMember(channel.id, user.id);
      await reloadChat(channel.id);
      navigate({ name: 'chat', chatId: channel.id });
    } catch (err) {
      showNotice(err instanceof ApiError ? err.message : 'Could not join.');
    }
  }

  return (
    <section class="browse" aria-label="Public channels">
      <header class="chat-head">
        <button type="button" class="icon back" aria-label="Back to chats" onClick={() => navigate({ name: 'home' })}>
          <Icon name="back" />
        </button>
        <h1>Public channels</h1>
      </header>
      {list === null ? (
        <p class="muted pad">Loading…</p>
      ) : list.length === 0 ? (
        <p class="muted pad">No public channels yet.</p>
      ) : (
        <ul class="channel-list" role="list">
          {list.map((c) => (
            <li key={c.id}>
              <div>
                <strong>#{c.name}</strong>
                <span class="muted">
                  {' '}
                  · {c.member_count} members{c.description ? ` · ${c.description}` : ''}
                </span>
              </div>
              {c.joined ? (
                <button type="button" onClick={() => navigate({ name: 'chat', chatId: c.id })}>
                  Open
                </button>
              ) : (
                <button type="button" class="primary" onClick={() => void join(c)}>
                  Join
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
