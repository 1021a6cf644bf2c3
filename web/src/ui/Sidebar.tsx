import { useState } from 'preact/hooks';
import type { Chat } from '../api/types';
import { navigate, route } from '../router';
import { signOut } from '../state/lifecycle';
import { chats, chatTitle, directPeers, me, online } from '../state/store';
import { dialog } from './dialogs';
import { Avatar } from './Avatar';
import { Icon } from './Icon';

const GROUPS: { title: string; types: Chat['chat_type'][] }[] = [
  { title: 'Channels', types: ['public_channel', 'private_channel'] },
  { title: 'Groups', types: ['group'] },
  { title: 'Direct messages', types: ['direct'] },
];

export function Sidebar() {
  const [filter, setFilter] = useState('');
  const [menu, setMenu] = useState(false);
  const openId = route.value.name === 'chat' ? route.value.chatId : null;
  const all = [...chats.value.values()].sort((a, b) => chatTitle(a).localeCompare(chatTitle(b)));
  const needle = filter.trim().toLowerCase();
  const shown = needle ? all.filter((c) => chatTitle(c).toLowerCase().includes(needle)) : all;
  const user = me.value;
  const canInvite = user && user.workspace_role !== 'member';

  return (
    <nav class="sidebar" aria-label="Chats">
      <header class="sidebar-head">
        <div class="workspace">
          <strong>{user?.workspace_name ?? 'Fechatter'}</strong>
          <span class="muted">{user?.fullname}</span>
        </div>
        <button
          type="button"
          class="icon"
          aria-haspopup="menu"
          aria-expanded={menu}
          aria-label="Account menu"
          onClick={() => setMenu(!menu)}
        >
          <Icon name="more" />
        </button>
        {menu && (
          <div class="menu" role="menu" onKeyDown={(e) => e.key === 'Escape' && setMenu(false)}>
            {canInvite && (
              <button type="button" role="menuitem" onClick={() => ((dialog.value = { kind: 'invite' }), setMenu(false))}>
                Invite people
              </button>
            )}
            <button type="button" role="menuitem" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        )}
      </header>
      <form
        // A new form (an empty box) whenever the search screen is left.
        key={route.value.name === 'search' ? 'searching' : 'idle'}
        class="sidebar-search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          const q = new FormData(e.currentTarget).get('q')?.toString().trim() ?? '';
          navigate({ name: 'search', q });
        }}
      >
        <input name="q" type="search" placeholder="Search messages" aria-label="Search messages" id="global-search" />
      </form>
      <div class="sidebar-actions">
        <button type="button" onClick={() => (dialog.value = { kind: 'new-chat' })}>
          + New chat
        </button>
        <button type="button" onClick={() => navigate({ name: 'browse' })}>
          Browse channels
        </button>
      </div>
      <input
        class="chat-filter"
        id="chat-filter"
        type="text"
        placeholder="Jump to… (Ctrl+K)"
        aria-label="Filter chats"
        value={filter}
        onInput={(e) => setFilter(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && shown[0]) {
            navigate({ name: 'chat', chatId: shown[0].id });
            setFilter('');
          }
        }}
      />
      <div class="chat-groups">
        {GROUPS.map((group) => {
          const list = shown.filter((c) => group.types.includes(c.chat_type));
          if (list.length === 0) return null;
          return (
            <section key={group.title}>
              <h2>{group.title}</h2>
              <ul role="list">
                {list.map((chat) => (
                  <ChatRow key={chat.id} chat={chat} active={chat.id === openId} />
                ))}
              </ul>
            </section>
          );
        })}
        {all.length === 0 && <p class="muted pad">No chats yet: start one with “New chat”.</p>}
      </div>
    </nav>
  );
}

function ChatRow({ chat, active }: { chat: Chat; active: boolean }) {
  const peer = chat.chat_type === 'direct' ? directPeers.value.get(chat.id) : undefined;
  const title = chatTitle(chat);
  return (
    <li>
      <a
        href={`/chats/${chat.id}`}
        class={`chat-row${active ? ' active' : ''}${chat.unread_count > 0 ? ' unread' : ''}`}
        aria-current={active ? 'page' : undefined}
        data-chat-id={chat.id}
        onClick={(e) => {
          e.preventDefault();
          navigate({ name: 'chat', chatId: chat.id });
        }}
      >
        {peer !== undefined ? (
          <Avatar userId={peer} small />
        ) : (
          <span class="chat-icon" aria-hidden="true">
            <Icon name={chat.chat_type === 'private_channel' ? 'lock' : chat.chat_type === 'group' ? 'group' : 'hash'} size={15} />
          </span>
        )}
        <span class="chat-name">{title.replace(/^#/, '')}</span>
        {peer !== undefined && online.value.has(peer) && <span class="sr-only">online</span>}
        {chat.mention_count > 0 && (
          <span class="badge mention" data-testid="mention-badge" aria-label={`${chat.mention_count} mentions`}>
            @{chat.mention_count}
          </span>
        )}
        {chat.unread_count > 0 && (
          <span class="badge" data-testid="unread-badge" aria-label={`${chat.unread_count} unread`}>
            {chat.unread_count}
          </span>
        )}
      </a>
    </li>
  );
}
