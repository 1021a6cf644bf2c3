import { useState } from 'preact/hooks';
import { messages as messageApi } from '../api/endpoints';
import { download } from '../api/files';
import { ApiError } from '../api/http';
import type { FileInfo, Message } from '../api/types';
import { track } from '../analytics/analytics';
import { me, showNotice, updateTimeline, userName, users } from '../state/store';
import { remove, upsert } from '../state/timeline';
import { Avatar } from './Avatar';
import { time, bytes } from './format';
import { Icon } from './Icon';
import { MessageText } from './MessageText';

export const EMOJI = ['👍', '❤️', '😂', '🎉', '😮', '👀', '✅', '🙏'];

interface Props {
  message: Message;
  repliedTo: Message | undefined | null;
  grouped: boolean;
  highlighted: boolean;
  onReply(m: Message): void;
}

function fail(err: unknown) {
  showNotice(err instanceof ApiError ? err.message : 'That did not work; try again.');
}

export function MessageItem({ message, repliedTo, grouped, highlighted, onReply }: Props) {
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [picking, setPicking] = useState(false);
  const mine = message.sender_id === me.value?.id;
  const sender = users.value.get(message.sender_id);

  async function toggle(emoji: string, reacted: boolean) {
    setPicking(false);
    try {
      if (reacted) await messageApi.unreact(message.chat_id, message.id, emoji);
      else {
        await messageApi.react(message.chat_id, message.id, emoji);
        track('reaction_added', { chat_id: message.chat_id });
      }
    } catch (err) {
      fail(err);
    }
  }

  async function save(content: string) {
    const text = content.trim();
    if (!text || text === message.content) return setEditing(false);
    try {
      const edited = await messageApi.edit(message.chat_id, message.id, text);
      updateTimeline(message.chat_id, (t) => upsert(t, edited));
      setEditing(false);
    } catch (err) {
      fail(err);
    }
  }

  async function del() {
    try {
      await messageApi.remove(message.chat_id, message.id);
      updateTimeline(message.chat_id, (t) => remove(t, message.id));
    } catch (err) {
      fail(err);
    }
  }

  return (
    <li
      class={`message${grouped ? ' grouped' : ''}${mine ? ' mine' : ''}${highlighted ? ' highlighted' : ''}`}
      data-message-id={message.id}
      id={`message-${message.id}`}
      tabIndex={-1}
    >
      {!grouped ? <Avatar userId={message.sender_id} /> : <span class="avatar-gap" />}
      <div class="message-body">
        {!grouped && (
          <div class="message-meta">
            <strong class="sender">{sender?.fullname ?? userName(message.sender_id)}</strong>
            {sender?.is_bot && <span class="tag">bot</span>}
            {message.integration && <span class="tag" data-testid="integration">{message.integration}</span>}
            <time dateTime={message.created_at}>{time(message.created_at)}</time>
          </div>
        )}
        {message.reply_to !== null && (
          <a
            class="reply-quote"
            href={`#message-${message.reply_to}`}
            data-testid="reply-quote"
            onClick={(e) => {
              e.preventDefault();
              document.getElementById(`message-${message.reply_to}`)?.scrollIntoView({ block: 'center' });
            }}
          >
            ↪{' '}
            {repliedTo === null
              ? 'a deleted message'
              : repliedTo
                ? `${userName(repliedTo.sender_id)}: ${repliedTo.content.slice(0, 80)}`
                : 'an earlier message'}
          </a>
        )}
        {editing ? (
          <EditBox initial={message.content} onSave={save} onCancel={() => setEditing(false)} />
        ) : (
          <div class="message-text" data-testid="message-text">
            <MessageText text={message.content} />
            {message.edited_at && <span class="edited"> (edited)</span>}
          </div>
        )}
        {(message.reply_count ?? 0) > 0 && (
          <div class="thread-summary" data-testid="thread-summary">
            {message.reply_count === 1 ? '1 reply' : `${message.reply_count} replies`}
          </div>
        )}
        {message.files.length > 0 && (
          <ul class="files" role="list">
            {message.files.map((f) => (
              <Attachment key={f.id} file={f} />
            ))}
          </ul>
        )}
        {message.reactions.length > 0 && (
          <div class="reactions" role="group" aria-label="Reactions">
            {message.reactions.map((r) => (
              <button
                key={r.emoji}
                type="button"
                class={`reaction${r.me ? ' me' : ''}`}
                aria-pressed={r.me}
                data-testid="reaction"
                data-emoji={r.emoji}
                onClick={() => void toggle(r.emoji, r.me)}
              >
                {r.emoji} <span>{r.count}</span>
              </button>
            ))}
          </div>
        )}
        {confirming && (
          <div class="confirm" role="alertdialog" aria-label="Delete this message?">
            Delete this message?{' '}
            <button type="button" class="danger" onClick={() => void del()} autoFocus>
              Delete
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        )}
      </div>
      <div class="message-actions" role="toolbar" aria-label="Message actions">
        <button type="button" title="Reply" aria-label="Reply" onClick={() => onReply(message)}>
          <Icon name="reply" />
        </button>
        <button type="button" title="React" aria-label="React" aria-expanded={picking} onClick={() => setPicking(!picking)}>
          <Icon name="react" />
        </button>
        {mine && (
          <>
            <button type="button" title="Edit" aria-label="Edit" onClick={() => setEditing(true)}>
              <Icon name="edit" />
            </button>
            <button type="button" title="Delete" aria-label="Delete" onClick={() => setConfirming(true)}>
              <Icon name="trash" />
            </button>
          </>
        )}
        {picking && (
          <div class="emoji-picker" role="menu" onKeyDown={(e) => e.key === 'Escape' && setPicking(false)}>
            {EMOJI.map((emoji) => {
              const reacted = message.reactions.some((r) => r.emoji === emoji && r.me);
              return (
                <button key={emoji} type="button" role="menuitem" aria-label={`React with ${emoji}`} onClick={() => void toggle(emoji, reacted)}>
                  {emoji}
                </button>
              );
            })}
          </div>
        )}
      </div>
    </li>
  );
}

function EditBox({ initial, onSave, onCancel }: { initial: string; onSave(text: string): void; onCancel(): void }) {
  const [text, setText] = useState(initial);
  return (
    <form
      class="edit-box"
      onSubmit={(e) => {
        e.preventDefault();
        onSave(text);
      }}
    >
      <textarea
        aria-label="Edit message"
        value={text}
        ref={(el) => el?.focus()}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') onCancel();
          if (e.key === 'Enter' && !e.shiftKey) {
            e.preventDefault();
            onSave(text);
          }
        }}
      />
      <div class="edit-actions">
        <button type="submit" class="primary">
          Save
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function Attachment({ file }: { file: FileInfo }) {
  const [progress, setProgress] = useState<number | null>(null);
  async function get() {
    setProgress(0);
    try {
      await download(file, (loaded, total) => setProgress(total ? loaded / total : 0));
      track('file_downloaded', { size_bytes: file.size_bytes, content_type: file.content_type });
    } catch (err) {
      fail(err);
    } finally {
      setProgress(null);
    }
  }
  return (
    <li class="file" data-testid="attachment">
      <span class="file-icon">
        <Icon name="file" />
      </span>
      <span class="file-name">{file.filename}</span>
      <span class="muted">{bytes(file.size_bytes)}</span>
      {progress === null ? (
        <button type="button" onClick={() => void get()} aria-label={`Download ${file.filename}`}>
          Download
        </button>
      ) : (
        <progress max={1} value={progress} aria-label={`Downloading ${file.filename}`} />
      )}
    </li>
  );
}
