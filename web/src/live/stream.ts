// The live event stream from notify_server, read with fetch() rather than EventSource so the
// access token travels in `Authorization` (never in a URL) and each reconnect sends the current
// token with `Last-Event-ID` set to the last cursor seen. The cursor is opaque: it is stored and
// sent back exactly as the server wrote it, never parsed.

import { signal } from '@preact/signals';
import { accessToken, refresh } from '../auth/session';
import { SseParser, type SseMessage } from './sseParser';
import { backoffDelay } from './backoff';

export type LiveStatus = 'idle' | 'connecting' | 'live' | 'reconnecting';

export interface LiveHandlers {
  /** Every message of the stream, in order; the cursor moves after it returns. */
  onMessage(message: SseMessage): void;
  /** `connected`: caught up, live from here. */
  onConnected(): void;
  /** The session cannot be refreshed any more. */
  onSessionEnded(): void;
}

/** Silence this long (keep-alives included) means the connection is dead. */
const WATCHDOG_MS = 45_000;

export class LiveStream {
  readonly status = signal<LiveStatus>('idle');
  /** Why the last attempt was refused (the error envelope's code), while reconnecting. */
  readonly refusal = signal<string | null>(null);
  private cursor: string | null = null;
  private running = false;
  private controller: AbortController | null = null;
  private attempt = 0;
  private wake: (() => void) | null = null;

  constructor(
    private readonly url: string,
    private readonly handlers: LiveHandlers,
  ) {}

  get lastEventId(): string | null {
    return this.cursor;
  }

  start() {
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  stop() {
    this.running = false;
    this.controller?.abort();
    this.wake?.();
    this.status.value = 'idle';
  }

  /** Drops the current wait or connection and connects at once (the network came back). */
  reconnectNow() {
    this.attempt = 0;
    if (this.wake) this.wake();
    else if (this.status.value !== 'live') this.controller?.abort();
  }

  private async loop() {
    let everLive = false;
    while (this.running) {
      this.status.value = everLive ? 'reconnecting' : 'connecting';
      const outcome = await this.connectOnce();
      if (outcome === 'ended') {
        this.running = false;
        this.status.value = 'idle';
        this.handlers.onSessionEnded();
        return;
      }
      if (outcome === 'was_live') everLive = true;
      if (!this.running) return;
      this.status.value = everLive ? 'reconnecting' : 'connecting';
      // A stream that ended after being live (a restart, a token that expired) is retried at
      // once; failures back off.
      const delay = outcome === 'was_live' ? 100 : backoffDelay(this.attempt++, outcome.retryAfterMs);
      await this.sleep(delay);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    }).finally(() => {
      this.wake = null;
    });
  }

  private async connectOnce(): Promise<'ended' | 'was_live' | { retryAfterMs?: number }> {
    const token = await accessToken();
    if (!token) return 'ended';
    const controller = new AbortController();
    this.controller = controller;
    const headers: Record<string, string> = {
      Authorization: `Bearer ${token}`,
      Accept: 'text/event-stream',
    };
    if (this.cursor !== null) headers['Last-Event-ID'] = this.cursor;
    let response: Response;
    try {
      response = await fetch(this.url, { headers, signal: controller.signal, cache: 'no-store' });
    } catch {
      return {};
    }
    if (response.status === 401) {
      return (await refresh()) === 'ended' ? 'ended' : {};
    }
    if (!response.ok || !response.body) {
      const seconds = Number(response.headers.get('Retry-After'));
      this.refusal.value = await response
        .json()
        .then((body: { code?: string }) => body.code ?? null)
        .catch(() => null);
      return { retryAfterMs: seconds > 0 ? seconds * 1000 : undefined };
    }
    this.refusal.value = null;
    return this.read(response.body, controller);
  }

  private async read(
    body: ReadableStream<Uint8Array>,
    controller: AbortController,
  ): Promise<'was_live' | { retryAfterMs?: number }> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    let live = false;
    let watchdog = setTimeout(() => controller.abort(), WATCHDOG_MS);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        clearTimeout(watchdog);
        watchdog = setTimeout(() => controller.abort(), WATCHDOG_MS);
        for (const message of parser.push(decoder.decode(value, { stream: true }))) {
          // `resync` replaces the replay the server could not give: the stream is live after it too.
          if (message.event === 'connected' || message.event === 'resync') {
            live = true;
            this.attempt = 0;
            this.status.value = 'live';
          }
          try {
            this.handlers.onMessage(message);
          } catch (err) {
            // One event the client cannot apply must not cut the stream for all the others.
            console.error('applying a live event failed', message.event, err);
          }
          if (message.id !== undefined) this.cursor = message.id;
          if (message.event === 'connected') this.handlers.onConnected();
        }
      }
    } catch {
      // Aborted, or the connection broke: reconnect below.
    } finally {
      clearTimeout(watchdog);
      reader.releaseLock();
    }
    return live ? 'was_live' : {};
  }
}
