import { useRef, useState } from 'preact/hooks';
import { chats as chatApi } from '../api/endpoints';
import { upload } from '../api/files';
import { ApiError } from '../api/http';
import type { FileInfo, Message } from '../api/types';
import { track } from '../analytics/analytics';
import { sendMessage } from '../state/sending';
import { members, showNotice, userName, users } from '../state/store';
import { completeMention, mentionAt } from '../text/mentions';
import { bytes } from './format';
import { Icon } from './Icon';

/** At most one typing signal per this interval while the user types. */
const TYPING_EVERY_MS = 2500;
const MAX_SUGGESTIONS = 6;

interface Candidate {
  handle: string;
  name: string;
}

interface Props {
  chatId: number;
  replyTo: Message | null;
  onCancelReply(): void;
}

export function Composer({ chatId, replyTo, onCancelReply }: Props) {
  const [text, setText] = useState('');
  const [files, setFiles] = useState<FileInfo[]>([]);
  const [uploading, setUploading] = useState<{ name: string; progress: number } | null>(null);
  const [mention, setMention] = useState<{ start: number; query: string } | null>(null);
  const [selected, setSelected] = useState(0);
  const input = useRef<HTMLTextAreaElement>(null);
  const lastTyping = useRef(0);
  const fileInput = useRef<HTMLInputElement>(null);

  const candidates = mention ? suggestions(chatId, mention.query) : [];

  function signalTyping() {
    const now = Date.now();
    if (now - lastTyping.current < TYPING_EVERY_MS) return;
    lastTyping.current = now;
    chatApi.typing(chatId).catch(() => undefined);
  }

  function onInput(e: Event) {
    const el = e.currentTarget as HTMLTextAreaElement;
    setText(el.value);
    const found = mentionAt(el.value, el.selectionStart ?? el.value.length);
    setMention(found);
    setSelected(0);
    if (el.value.trim()) signalTyping();
  }

  // Reads the textarea itself, not the last rendered state: a key pressed right after typing can
  // arrive before that keystroke's render (Enter after a fast "@bot" would complete "@bob").
  function currentMention(): { start: number; query: string } | null {
    const el = input.current;
    return el ? mentionAt(el.value, el.selectionStart ?? el.value.length) : null;
  }

  function choose(candidate: Candidate, at: { start: number; query: string } | null = mention) {
    const el = input.current;
    if (!el || !at) return;
    const caret = el.selectionStart ?? el.value.length;
    const next = completeMention(el.value, at.start, caret, candidate.handle);
    // The textarea takes the completion now, not at the next render: keys typed right after Enter
    // must land after the inserted handle (they were spliced into the old text before).
    el.value = next.text;
    el.focus();
    el.setSelectionRange(next.caret, next.caret);
    setText(next.text);
    setMention(null);
  }

  function submit() {
    const content = text.trim();
    if (!content && files.length === 0) return;
    if (uploading) {
      showNotice('The file is still uploading; send when it is attached.', 'info');
      return;
    }
    sendMessage(chatId, content || files.map((f) => f.filename).join(', '), replyTo?.id ?? null, files);
    setText('');
    setFiles([]);
    setMention(null);
    lastTyping.current = 0;
    onCancelReply();
  }

  function onKeyDown(e: KeyboardEvent) {
    const at = currentMention();
    const current = at ? suggestions(chatId, at.query) : [];
    if (current.length > 0) {
      // The highlighted row only counts while the list is the one shown.
      const index = at?.query === mention?.query ? selected : 0;
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const step = e.key === 'ArrowDown' ? 1 : -1;
        setSelected((index + step + current.length) % current.length);
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        choose(current[index] ?? current[0]!, at);
        return;
      }
      if (e.key === 'Escape') {
        setMention(null);
        return;
      }
    }
    if (e.key === 'Escape' && replyTo) onCancelReply();
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  }

  async function attach(list: FileList | null) {
    const file = list?.[0];
    if (!file) return;
    setUploading({ name: file.name, progress: 0 });
    try {
      const info = await upload(file, (loaded, total) =>
        setUploading({ name: file.name, progress: total ? loaded / total : 0 }),
      );
      setFiles((current) => [...current, info]);
      track('file_uploaded', { size_bytes: info.size_bytes, content_type: info.content_type });
    } catch (err) {
      showNotice(err instanceof ApiError ? `Upload failed: ${err.message}` : 'Upload failed.');
    } finally {
      setUploading(null);
      if (fileInput.current) fileInput.current.value = '';
    }
  }

  return (
    <div class="composer">
      {replyTo && (
        <div class="composer-reply" data-testid="replying-to">
          <span>
            Replying to <strong>{userName(replyTo.sender_id)}</strong>: {replyTo.content.slice(0, 80)}
          </span>
          <button type="button" aria-label="Cancel reply" onClick={onCancelReply}>
            <Icon name="close" size={14} />
          </button>
        </div>
      )}
      {(files.length > 0 || uploading) && (
        <ul class="composer-files" role="list">
          {files.map((f) => (
            <li key={f.id}>
              <span>
                <Icon name="file" size={14} /> {f.filename} <span class="muted">{bytes(f.size_bytes)}</span>
              </span>
              <button
                type="button"
                aria-label={`Remove ${f.filename}`}
                onClick={() => setFiles(files.filter((x) => x.id !== f.id))}
              >
                <Icon name="close" size={14} />
              </button>
            </li>
          ))}
          {uploading && (
            <li data-testid="upload-progress">
              Uploading {uploading.name}
              <progress max={1} value={uploading.progress} aria-label={`Uploading ${uploading.name}`} />
            </li>
          )}
        </ul>
      )}
      {candidates.length > 0 && (
        <ul class="mention-list" role="listbox" aria-label="People to mention">
          {candidates.map((c, i) => (
            <li
              key={c.handle}
              role="option"
              aria-selected={i === selected}
              class={i === selected ? 'selected' : ''}
              onMouseDown={(e) => {
                e.preventDefault();
                choose(c);
              }}
            >
              <strong>@{c.handle}</strong> <span class="muted">{c.name}</span>
            </li>
          ))}
        </ul>
      )}
      <div class="composer-row">
        <button
          type="button"
          class="icon"
          aria-label="Attach a file"
          title="Attach a file"
          onClick={() => fileInput.current?.click()}
        >
          <Icon name="attach" />
        </button>
        <input
          ref={fileInput}
          type="file"
          class="sr-only"
          tabIndex={-1}
          aria-hidden="true"
          data-testid="file-input"
          onChange={(e) => void attach(e.currentTarget.files)}
        />
        <textarea
          ref={input}
          id="composer-input"
          rows={1}
          placeholder="Message… (@ to mention, @bot to ask the assistant)"
          aria-label="Message"
          value={text}
          onInput={onInput}
          onKeyDown={onKeyDown}
          onBlur={() => setTimeout(() => setMention(null), 150)}
        />
        <button type="button" class="primary send" onClick={submit} disabled={Boolean(uploading)}>
          <Icon name="send" size={16} /> <span>Send</span>
        </button>
      </div>
    </div>
  );
}

function suggestions(chatId: number, query: string): Candidate[] {
  const q = query.toLowerCase();
  const seen = new Set<string>();
  const out: Candidate[] = [];
  const add = (handle: string, name: string) => {
    const key = handle.toLowerCase();
    if (seen.has(key)) return;
    if (!key.startsWith(q) && !name.toLowerCase().includes(q)) return;
    seen.add(key);
    out.push({ handle, name });
  };
  for (const m of members.value.get(chatId) ?? []) add(m.handle, m.fullname);
  // The assistant answers in any chat it is mentioned in, member or not.
  let bots = 0;
  for (const u of users.value.values())
    if (u.is_bot) {
      bots++;
      add(u.handle, `${u.fullname} (assistant)`);
    }
  // The workspace's assistant exists before anyone has asked it anything.
  if (bots === 0) add('bot', 'Assistant');
  return out.slice(0, MAX_SUGGESTIONS);
}
