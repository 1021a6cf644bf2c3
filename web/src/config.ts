// Where notify_server (live events) and analytics_server are, from fechatter_server's
// `/client-config.json`; unset there, the same host as the page on their default ports.

import type { ClientConfig } from './api/types';

export interface Endpoints {
  notify: string;
  analytics: string;
}

export async function loadEndpoints(): Promise<Endpoints> {
  let config: Partial<ClientConfig> = {};
  try {
    const response = await fetch('/client-config.json', { cache: 'no-store' });
    if (response.ok) config = (await response.json()) as ClientConfig;
  } catch {
    // The defaults below.
  }
  const host = `${location.protocol}//${location.hostname}`;
  return {
    notify: config.notify_url || `${host}:6689`,
    analytics: config.analytics_url || `${host}:7777`,
  };
}
