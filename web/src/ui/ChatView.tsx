import { Fragment } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Message } from '../api/types';
import { track } from '../analytics/analytics';
import { Icon } from './Icon';
import { navigate } from '../router';
import { loadMembers, loadNewest, loadOlder } from '../state/chatsync';
import { atBottom, markReadIfVisible } from '../state/reading';
import { discard, pending, retry } from '../state/sending';
import { chats, chatTitle, directPeers, online, showNotice, timelines, typing, userName } from '../state/store';
import { Composer } from './Composer';
import { dialog } from './dialogs';
import { day } from './format';
import { MessageItem } from './MessageItem';

/** Within this distance of the bottom the view counts as "at the newest message". */
const BOTTOM_SLACK_PX = 48;
/** Start loading the older page this close to the top. */
const TOP_SLACK_PX = 300;

export function ChatView({ chatId, focusMessage }: { chatId: number; focusMessage?: number }) {
  const chat = chats.value.get(chatId);
  const timeline = timelines.value.get(chatId);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const list = useRef<HTMLDivElement>(null);
  const anchor = useRef<{ height: number; top: number } | null>(null);

  useEffect(() => {
    setReplyTo(null);
    atBottom.value = true;
    if (!timelines.value.has(chatId)) loadNewest(chatId).catch(() => showNotice('Could not load this chat.'));
    loadMembers(chatId).catch(() => undefined);
    track('chat_opened', { chat_id: chatId });
    document.getElementById('composer-input')?.focus();
  }, [chatId]);

  const messages = timeline?.messages ?? [];
  const newest = messages.length ? messages[messages.length - 1]!.id : 0;
  const waiting = pending.value.get(chatId) ?? [];

  // Keep the reading position when older messages are added above; follow new ones at the bottom.
  useLayoutEffect(() => {
    const el = list.current;
    if (!el) return;
    if (anchor.current) {
      el.scrollTop = anchor.current.top + (el.scrollHeight - anchor.current.height);
      anchor.current = null;
    } else if (atBottom.value) {
      el.scrollTop = el.scrollHeight;
    }
  }, [messages.length, messages[0]?.id, newest, waiting.length]);

  useEffect(() => {
    if (newest) markReadIfVisible(chatId);
  }, [chatId, newest]);

  useEffect(() => {
    if (focusMessage === undefined) return;
    document.getElementById(`message-${focusMessage}`)?.scrollIntoView({ block: 'center' });
  }, [focusMessage, messages.length]);

  // A short first page may not fill the screen: then nothing scrolls, so load more now.
  useEffect(() => {
    const el = list.current;
    if (el && timeline?.hasMore && el.scrollHeight <= el.clientHeight) void older();
  }, [timeline?.hasMore, messages.length]);

  async function older() {
    const el = list.current;
    if (!el) return;
    anchor.current = { height: el.scrollHeight, top: el.scrollTop };
    try {
      if (!(await loadOlder(chatId))) anchor.current = null;
    } catch {
      anchor.current = null;
    }
  }

  function onScroll() {
    const el = list.current;
    if (!el) return;
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight < BOTTOM_SLACK_PX;
    if (bottom !== atBottom.value) atBottom.value = bottom;
    if (bottom) markReadIfVisible(chatId);
    if (el.scrollTop < TOP_SLACK_PX && timeline?.hasMore) void older();
  }

  if (!chat) {
    return (
      <section class="chat-view empty">
        <p class="muted">This chat is not in your list (yet). </p>
        <button type="button" onClick={() => navigate({ name: 'home' })}>
          Back to chats
        </button>
      </section>
    );
  }

  const peer = chat.chat_type === 'direct' ? directPeers.value.get(chatId) : undefined;
  const byId = new Map(messages.map((m) => [m.id, m]));
  const deleted = timeline?.deleted ?? new Set<number>();

  return (
    <section class="chat-view" aria-label={chatTitle(chat)}>
      <header class="chat-head">
        <button type="button" class="icon back" aria-label="Back to chats" onClick={() => navigate({ name: 'home' })}>
          <Icon name="back" />
        </button>
        <div class="chat-title">
          <h1>{chatTitle(chat)}</h1>
          <span class="muted" data-testid="chat-subtitle">
            {peer !== undefined
              ? online.value.has(peer)
                ? '● online'
                : 'offline'
              : (chat.description ?? `${chat.member_count} members`)}
          </span>
        </div>
        {chat.chat_type !== 'direct' && (
          <button type="button" onClick={() => (dialog.value = { kind: 'members', chatId })}>
            Members ({chat.member_count})
          </button>
        )}
      </header>
      <div class="messages" ref={list} onScroll={onScroll} data-testid="message-list" aria-live="polite">
        {timeline && !timeline.hasMore && <p class="chat-start muted">This is the start of {chatTitle(chat)}.</p>}
        {timeline?.hasMore && <p class="chat-start muted">Loading earlier messages…</p>}
        <ol role="list">
          {messages.map((m, i) => {
            const previous = messages[i - 1];
            const newDay = !previous || day(previous.created_at) !== day(m.created_at);
            const grouped =
              !newDay &&
              previous?.sender_id === m.sender_id &&
              m.reply_to === null &&
              Date.parse(m.created_at) - Date.parse(previous.created_at) < 5 * 60_000;
            const repliedTo = m.reply_to === null ? undefined : deleted.has(m.reply_to) ? null : byId.get(m.reply_to);
            return (
              <Fragment key={m.id}>
                {newDay && (
                  <li class="day" role="separator">
                    {day(m.created_at)}
                  </li>
                )}
                <MessageItem
                  message={m}
                  repliedTo={repliedTo}
                  grouped={grouped}
                  highlighted={m.id === focusMessage}
                  onReply={(target) => {
                    setReplyTo(target);
                    document.getElementById('composer-input')?.focus();
                  }}
                />
              </Fragment>
            );
          })}
          {waiting.map((p) => (
            <li key={p.key} class={`message mine pending ${p.state}`} data-testid="pending-message">
              <span class="avatar-gap" />
              <div class="message-body">
                <div class="message-text">{p.content}</div>
                {p.state === 'sending' ? (
                  <span class="muted">Sending…</span>
                ) : (
                  <span class="form-error">
                    Not sent: {p.error}{' '}
                    <button type="button" onClick={() => retry(p)}>
                      Retry
                    </button>{' '}
                    <button type="button" onClick={() => discard(p)}>
                      Discard
                    </button>
                  </span>
                )}
              </div>
            </li>
          ))}
        </ol>
      </div>
      <TypingLine chatId={chatId} />
      <Composer chatId={chatId} replyTo={replyTo} onCancelReply={() => setReplyTo(null)} />
    </section>
  );
}

function TypingLine({ chatId }: { chatId: number }) {
  const [now, setNow] = useState(Date.now());
  const inChat = typing.value.get(chatId);
  const names = [...(inChat ?? new Map<number, number>()).entries()]
    .filter(([, expires]) => expires > now)
    .map(([user]) => userName(user));
  useEffect(() => {
    if (names.length === 0) return;
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [names.length > 0]);
  useEffect(() => setNow(Date.now()), [inChat]);
  const text =
    names.length === 0
      ? ''
      : names.length === 1
        ? `${names[0]} is typing…`
        : names.length === 2
          ? `${names[0]} and ${names[1]} are typing…`
          : 'Several people are typing…';
  return (
    <div class="typing" aria-live="polite" data-testid="typing-indicator">
      {text}
    </div>
  );
}
