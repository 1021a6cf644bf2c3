import { render } from 'preact';
import { startAnalytics, track } from './analytics/analytics';
import { loadEndpoints } from './config';
import { route } from './router';
import { followSession } from './state/lifecycle';
import { App } from './ui/App';
import { effect } from '@preact/signals';
import './styles.css';

async function boot() {
  const endpoints = await loadEndpoints();
  startAnalytics(endpoints.analytics);
  // A page view per screen (not per chat id, which the `chat_opened` event carries).
  let last = '';
  effect(() => {
    const name = route.value.name;
    if (name !== last) {
      last = name;
      track('navigation', { screen: name });
    }
  });
  window.addEventListener('error', (e) => track('error_reported', { message: String(e.message).slice(0, 200) }));
  window.addEventListener('unhandledrejection', (e) =>
    track('error_reported', { message: String((e.reason as Error)?.message ?? e.reason).slice(0, 200) }),
  );
  followSession(endpoints);
  render(<App />, document.getElementById('app')!);
}

void boot();
