import { describe, expect, it } from 'vitest';
import { SseParser } from '../../src/live/sseParser';

describe('the SSE parser', () => {
  it('keeps the id exactly as sent, an epoch:sequence cursor included', () => {
    const parser = new SseParser();
    const out = parser.push('event: message.created\ndata: {"a":1}\nid: 1733212800123:42\n\n');
    expect(out).toEqual([{ event: 'message.created', data: '{"a":1}', id: '1733212800123:42' }]);
  });

  it('joins data lines, skips comments and dispatches only on a blank line', () => {
    const parser = new SseParser();
    expect(parser.push(':keep-alive\n\ndata: one\ndata: two\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ event: 'message', data: 'one\ntwo' }]);
  });

  it('reassembles messages split anywhere, CRLF included', () => {
    const text = 'event: typing\r\ndata: {"chat_id":3}\r\n\r\nevent: connected\r\ndata: {}\r\nid: 7\r\n\r\n';
    for (let cut = 1; cut < text.length; cut++) {
      const parser = new SseParser();
      const out = [...parser.push(text.slice(0, cut)), ...parser.push(text.slice(cut))];
      expect(out, `cut at ${cut}`).toEqual([
        { event: 'typing', data: '{"chat_id":3}' },
        { event: 'connected', data: '{}', id: '7' },
      ]);
    }
  });

  it('gives a message without an id field no id, so the cursor stays where it was', () => {
    const parser = new SseParser();
    const [presence] = parser.push('event: presence.changed\ndata: {"online":true}\n\n');
    expect(presence?.id).toBeUndefined();
  });
});
