// One way to call fechatter_server: JSON in and out, the bearer token, one refresh-and-retry on
// 401, and the error envelope `{code, message}` turned into an ApiError.

import { accessToken, refresh } from '../auth/session';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  /** No answer at all (network down, server restarting): worth retrying. */
  get isNetwork(): boolean {
    return this.status === 0;
  }

  /** Worth retrying as is: no answer, overload or a server failure. */
  get isTransient(): boolean {
    return this.status === 0 || this.status === 429 || this.status === 503 || this.status >= 500;
  }
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Sign-up, sign-in: no token. */
  anonymous?: boolean;
  signal?: AbortSignal;
}

export async function toApiError(response: Response): Promise<ApiError> {
  let code = 'http_' + response.status;
  let message = response.statusText || 'request failed';
  let retryAfterMs: number | undefined;
  try {
    const body = (await response.json()) as { code?: string; message?: string; retry_after_ms?: number };
    code = body.code ?? code;
    message = body.message ?? message;
    retryAfterMs = body.retry_after_ms;
  } catch {
    // Not the envelope (a proxy's page): keep the status.
  }
  const header = Number(response.headers.get('Retry-After'));
  if (retryAfterMs === undefined && header > 0) retryAfterMs = header * 1000;
  return new ApiError(response.status, code, message, retryAfterMs);
}

export async function send(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
  const attempt = async (): Promise<Response> => {
    const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
    if (!options.anonymous) {
      const token = await accessToken();
      if (!token) throw new ApiError(401, 'session_ended', 'signed out');
      headers.Authorization = `Bearer ${token}`;
    }
    let body: BodyInit | undefined;
    if (options.body instanceof FormData) body = options.body;
    else if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    try {
      return await fetch(path, { method, headers, body, signal: options.signal });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw new ApiError(0, 'network', 'the server cannot be reached');
    }
  };
  let response = await attempt();
  if (response.status === 401 && !options.anonymous) {
    if ((await refresh()) === 'refreshed') response = await attempt();
  }
  if (!response.ok) throw await toApiError(response);
  return response;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(method, path, options);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}
