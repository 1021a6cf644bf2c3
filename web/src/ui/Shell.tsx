import { useEffect } from 'preact/hooks';
import { navigate, route } from '../router';
import { chats, chatTitle } from '../state/store';
import { BrowseChannels } from './BrowseChannels';
import { ChatView } from './ChatView';
import { ConnectionBanner } from './ConnectionBanner';
import { dialog } from './dialogs';
import { InviteDialog } from './InviteDialog';
import { MembersDialog } from './MembersDialog';
import { NewChatDialog } from './NewChatDialog';
import { SearchView } from './SearchView';
import { Sidebar } from './Sidebar';

function typingTarget(e: KeyboardEvent): boolean {
  const el = e.target as HTMLElement | null;
  return !!el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.isContentEditable);
}

/** Keyboard: Ctrl/⌘+K jumps to a chat, Alt+↑/↓ moves between chats, "/" searches. */
function useShortcuts() {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        document.getElementById('chat-filter')?.focus();
        return;
      }
      if (e.key === '/' && !typingTarget(e)) {
        e.preventDefault();
        document.getElementById('global-search')?.focus();
        return;
      }
      if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
        e.preventDefault();
        const order = [...chats.value.values()].sort((a, b) => chatTitle(a).localeCompare(chatTitle(b)));
        if (order.length === 0) return;
        const current = route.value.name === 'chat' ? route.value.chatId : null;
        const at = order.findIndex((c) => c.id === current);
        const step = e.key === 'ArrowDown' ? 1 : -1;
        const next = order[(at + step + order.length) % order.length]!;
        navigate({ name: 'chat', chatId: next.id });
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}

export function Shell() {
  useShortcuts();
  const r = route.value;
  const d = dialog.value;
  const close = () => (dialog.value = null);
  let main;
  switch (r.name) {
    case 'chat':
      main = <ChatView chatId={r.chatId} />;
      break;
    case 'search':
      main = <SearchView q={r.q} />;
      break;
    case 'browse':
      main = <BrowseChannels />;
      break;
    default:
      main = (
        <section class="welcome">
          <h1>Welcome to Fechatter</h1>
          <p class="muted">
            Pick a chat on the left, start one with “New chat”, or ask the assistant anything with <code>@bot</code>.
          </p>
          <p class="muted">Keyboard: Ctrl+K jump to a chat · Alt+↑/↓ previous/next chat · / search · Enter send.</p>
        </section>
      );
  }
  return (
    <div class={`shell ${r.name === 'home' ? 'shows-list' : 'shows-main'}`}>
      <ConnectionBanner />
      <Sidebar />
      <main class="main">{main}</main>
      {d?.kind === 'new-chat' && <NewChatDialog onClose={close} />}
      {d?.kind === 'members' && <MembersDialog chatId={d.chatId} onClose={close} />}
      {d?.kind === 'invite' && <InviteDialog onClose={close} />}
    </div>
  );
}
