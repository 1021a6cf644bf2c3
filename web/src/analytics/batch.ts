// The client events of analytics_server (`POST /api/events`), queued and sent in batches. Pure
// queue logic here; the transport is in analytics.ts.

export interface ClientEvent {
  event_id: string;
  event_type: string;
  client_id: string;
  session_id: string;
  occurred_at: string;
  app_version: string;
  system: Record<string, string>;
  properties: Record<string, unknown>;
}

export class EventQueue {
  private events: ClientEvent[] = [];

  constructor(private readonly capacity = 500) {}

  get size(): number {
    return this.events.length;
  }

  push(event: ClientEvent) {
    this.events.push(event);
    // Offline for long: keep the newest, the oldest are the least useful.
    if (this.events.length > this.capacity) this.events.splice(0, this.events.length - this.capacity);
  }

  /** Takes up to `max` events to send; `putBack` returns them (same ids) when sending failed. */
  take(max: number): ClientEvent[] {
    return this.events.splice(0, max);
  }

  putBack(events: ClientEvent[]) {
    this.events.unshift(...events);
    if (this.events.length > this.capacity) this.events.length = this.capacity;
  }
}
