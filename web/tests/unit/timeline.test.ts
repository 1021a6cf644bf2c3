import { describe, expect, it } from 'vitest';
import type { Message, Page } from '../../src/api/types';
import { emptyTimeline, patch, react, remove, upsert, withNewestPage, withOlderPage, withThread } from '../../src/state/timeline';

function msg(id: number, content = `m${id}`, edited_at: string | null = null): Message {
  return {
    id,
    chat_id: 1,
    sender_id: 1,
    content,
    reply_to: null,
    mentions: [],
    reactions: [],
    files: [],
    created_at: `2026-01-01T00:00:${String(id % 60).padStart(2, '0')}Z`,
    edited_at,
  };
}

/** A page as the API returns it: newest first. */
function page(ids: number[], hasMore: boolean): Page<Message> {
  const items = ids.map((id) => msg(id)).sort((a, b) => b.id - a.id);
  return { items, has_more: hasMore, next_before: hasMore ? Math.min(...ids) : null };
}

const ids = (t: { messages: Message[] }) => t.messages.map((m) => m.id);

describe('a chat timeline', () => {
  it('pages back with the keyset cursor and keeps messages oldest first', () => {
    let t = withNewestPage(emptyTimeline(), page([8, 9, 10], true));
    expect(ids(t)).toEqual([8, 9, 10]);
    expect(t.nextBefore).toBe(8);
    t = withOlderPage(t, page([5, 6, 7], true));
    t = withOlderPage(t, page([3, 4], false));
    expect(ids(t)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    expect([t.hasMore, t.nextBefore]).toEqual([false, null]);
  });

  it('shows a message once however often it arrives: live, replayed and in a page', () => {
    let t = withNewestPage(emptyTimeline(), page([1, 2], false));
    t = upsert(t, msg(3));
    t = upsert(t, msg(3));
    t = withNewestPage(t, page([1, 2, 3], false));
    expect(ids(t)).toEqual([1, 2, 3]);
  });

  it('takes the file records of a page for a message an event announced with file ids only', () => {
    const announced = { ...msg(5), created_at: '2026-01-01T00:00:05.123456789Z' };
    const listed = {
      ...msg(5),
      created_at: '2026-01-01T00:00:05.123457Z',
      files: [{ id: 9, uploader_id: 1, filename: 'a.txt', content_type: 'text/plain', size_bytes: 1, sha256: '', created_at: '' }],
    };
    const t = upsert(upsert(emptyTimeline(), announced), listed);
    expect(t.messages[0]?.files.map((f) => f.filename)).toEqual(['a.txt']);
  });

  it('never lets an older version replace an edit', () => {
    let t = upsert(emptyTimeline(), msg(4, 'edited', '2026-01-01T01:00:00Z'));
    t = upsert(t, msg(4, 'original'));
    expect(t.messages[0]?.content).toBe('edited');
  });

  it('never brings a deleted message back from a page fetched before the delete', () => {
    let t = withNewestPage(emptyTimeline(), page([1, 2, 3], false));
    t = remove(t, 2);
    t = withNewestPage(t, page([1, 2, 3], false));
    expect(ids(t)).toEqual([1, 3]);
  });

  it('restarts from the newest page when a catch-up does not reach what is loaded', () => {
    let t = withNewestPage(emptyTimeline(), page([1, 2, 3], false));
    t = withNewestPage(t, page([60, 61, 62], true));
    expect(ids(t)).toEqual([60, 61, 62]);
    expect(t.hasMore).toBe(true);
  });

  it('drops what the newest page no longer has within its range (deleted while away)', () => {
    let t = withNewestPage(emptyTimeline(), page([1, 2, 3, 4], false));
    t = withNewestPage(t, page([3, 5], true));
    expect(ids(t)).toEqual([1, 2, 3, 5]);
  });

  it("counts the viewer's own reaction once and never below zero", () => {
    let m = msg(1);
    m = react(m, '👍', true, true);
    m = react(m, '👍', true, true);
    m = react(m, '👍', true, false);
    expect(m.reactions).toEqual([{ emoji: '👍', count: 2, me: true }]);
    m = react(m, '👍', false, true);
    m = react(m, '👍', false, true);
    expect(m.reactions).toEqual([{ emoji: '👍', count: 1, me: false }]);
    m = react(m, '👍', false, false);
    expect(m.reactions).toEqual([]);
  });
});

describe('a thread update', () => {
  it('sets the root’s reply count and latest reply, and leaves other messages alone', () => {
    const update = {
      chat_id: 1,
      root_id: 8,
      reply_id: 12,
      sender_id: 2,
      deleted: false,
      reply_count: 3,
      last_reply_id: 12,
      last_reply_at: '2026-01-01T00:01:00Z',
    };
    const t = patch(withNewestPage(emptyTimeline(), page([8, 9], false)), 8, (m) => withThread(m, update));
    const root = t.messages.find((m) => m.id === 8);
    expect([root?.reply_count, root?.last_reply_at]).toEqual([3, '2026-01-01T00:01:00Z']);
    expect(t.messages.find((m) => m.id === 9)?.reply_count).toBeUndefined();
    expect(withThread(msg(9), update)).toEqual(msg(9));
  });
});
