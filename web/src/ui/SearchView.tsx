import { useEffect, useState } from 'preact/hooks';
import { search } from '../api/endpoints';
import { ApiError } from '../api/http';
import type { SearchHit } from '../api/types';
import { track } from '../analytics/analytics';
import { Icon } from './Icon';
import { navigate } from '../router';
import { chats, chatTitle, userName } from '../state/store';
import { snippetParts } from '../text/snippet';
import { time } from './format';

export function SearchView({ q }: { q: string }) {
  const [query, setQuery] = useState(q);
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    setQuery(q);
    if (!q.trim()) {
      setHits(null);
      return;
    }
    let cancelled = false;
    setBusy(true);
    setError(null);
    search(q)
      .then((page) => {
        if (cancelled) return;
        setHits(page.items);
        track('search_performed', { results: page.items.length, terms: q.trim().split(/\s+/).length });
      })
      .catch((err) => !cancelled && setError(err instanceof ApiError ? err.message : 'Search failed.'))
      .finally(() => !cancelled && setBusy(false));
    return () => {
      cancelled = true;
    };
  }, [q]);

  return (
    <section class="search-view" aria-label="Search">
      <header class="chat-head">
        <button type="button" class="icon back" aria-label="Back to chats" onClick={() => navigate({ name: 'home' })}>
          <Icon name="back" />
        </button>
        <form
          class="search-form"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            navigate({ name: 'search', q: query.trim() });
          }}
        >
          <input
            type="search"
            aria-label="Search messages"
            placeholder='Search your chats: words, "a phrase", prefix*'
            value={query}
            onInput={(e) => setQuery(e.currentTarget.value)}
            ref={(el) => {
              if (el && !q) el.focus();
            }}
          />
          <button type="submit" class="primary">
            Search
          </button>
        </form>
      </header>
      <div class="search-results" data-testid="search-results">
        {busy && <p class="muted pad">Searching…</p>}
        {error && (
          <p class="form-error pad" role="alert">
            {error}
          </p>
        )}
        {hits && hits.length === 0 && !busy && <p class="muted pad">No messages match “{q}”.</p>}
        {hits && hits.length > 0 && (
          <ol role="list">
            {hits.map((hit) => {
              const chat = chats.value.get(hit.chat_id);
              return (
                <li key={hit.message_id}>
                  <a
                    class="hit"
                    href={`/chats/${hit.chat_id}`}
                    data-testid="search-hit"
                    onClick={(e) => {
                      e.preventDefault();
                      navigate({ name: 'chat', chatId: hit.chat_id });
                    }}
                  >
                    <span class="hit-meta">
                      <strong>{chat ? chatTitle(chat) : 'a chat'}</strong> · {userName(hit.sender_id)} ·{' '}
                      {time(hit.created_at)}
                    </span>
                    <span class="hit-snippet">
                      {snippetParts(hit.snippet).map((part, i) =>
                        part.match ? <mark key={i}>{part.text}</mark> : part.text,
                      )}
                    </span>
                  </a>
                </li>
              );
            })}
          </ol>
        )}
      </div>
    </section>
  );
}
