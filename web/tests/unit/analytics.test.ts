import { describe, expect, it } from 'vitest';
import { EventQueue, type ClientEvent } from '../../src/analytics/batch';

const event = (n: number): ClientEvent => ({
  event_id: `id-${n}`,
  event_type: 'navigation',
  client_id: 'c',
  session_id: 's',
  occurred_at: new Date(0).toISOString(),
  app_version: '0',
  system: {},
  properties: { n },
});

describe('the analytics queue', () => {
  it('sends in batches and puts a failed batch back first, with the same event ids', () => {
    const queue = new EventQueue();
    for (let n = 0; n < 5; n++) queue.push(event(n));
    const batch = queue.take(3);
    expect(batch.map((e) => e.event_id)).toEqual(['id-0', 'id-1', 'id-2']);
    queue.putBack(batch);
    expect(queue.take(10).map((e) => e.event_id)).toEqual(['id-0', 'id-1', 'id-2', 'id-3', 'id-4']);
  });

  it('keeps the newest events when offline for long', () => {
    const queue = new EventQueue(3);
    for (let n = 0; n < 5; n++) queue.push(event(n));
    expect(queue.take(10).map((e) => e.event_id)).toEqual(['id-2', 'id-3', 'id-4']);
  });
});
