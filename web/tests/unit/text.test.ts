import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/live/backoff';
import { RecentIds } from '../../src/live/dedupe';
import { completeMention, mentionAt, tokenize } from '../../src/text/mentions';
import { snippetParts } from '../../src/text/snippet';

describe('mentions', () => {
  it('finds the mention being typed only at a word start', () => {
    expect(mentionAt('hi @bo', 6)).toEqual({ start: 3, query: 'bo' });
    expect(mentionAt('@', 1)).toEqual({ start: 0, query: '' });
    expect(mentionAt('mail me at ann@example', 22)).toBeNull();
    expect(mentionAt('no mention', 10)).toBeNull();
  });

  it('completes with the handle and a space, caret after it', () => {
    expect(completeMention('ask @bo now', 4, 7, 'bot')).toEqual({ text: 'ask @bot  now', caret: 9 });
  });

  it('splits text into mentions, links and the rest, trailing punctuation left out', () => {
    expect(tokenize('ping @ann.lee, see https://example.com/a?b=1.')).toEqual([
      { kind: 'text', text: 'ping ' },
      { kind: 'mention', text: '@ann.lee', handle: 'ann.lee' },
      { kind: 'text', text: ', see ' },
      { kind: 'link', text: 'https://example.com/a?b=1' },
      { kind: 'text', text: '.' },
    ]);
    expect(tokenize('a@b')).toEqual([{ kind: 'text', text: 'a@b' }]);
    expect(tokenize('javascript:alert(1)')).toEqual([{ kind: 'text', text: 'javascript:alert(1)' }]);
  });
});

describe('search snippets', () => {
  it('become text parts with the matches marked, entities decoded, no HTML kept', () => {
    expect(snippetParts('…the <mark>deploy</mark> of &lt;b&gt; &amp; <mark>x-request-id</mark>')).toEqual([
      { text: '…the ', match: false },
      { text: 'deploy', match: true },
      { text: ' of <b> & ', match: false },
      { text: 'x-request-id', match: true },
    ]);
  });
});

describe('reconnecting', () => {
  it('backs off from 250 ms to at most 5 s with jitter, longer when the server asks', () => {
    const mid = () => 0.5;
    expect([0, 1, 2, 3, 4, 5, 9].map((a) => backoffDelay(a, undefined, mid))).toEqual([
      250, 500, 1000, 2000, 4000, 5000, 5000,
    ]);
    expect(backoffDelay(0, undefined, () => 0)).toBe(200);
    expect(backoffDelay(0, undefined, () => 1)).toBe(300);
    expect(backoffDelay(0, 3000, mid)).toBe(3000);
  });

  it('applies an event id once, remembering a bounded number', () => {
    const seen = new RecentIds(2);
    expect([seen.firstTime('a'), seen.firstTime('a'), seen.firstTime('b')]).toEqual([true, false, true]);
    seen.firstTime('c');
    expect(seen.firstTime('a')).toBe(true);
  });
});
