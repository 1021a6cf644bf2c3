import { useEffect, useState } from 'preact/hooks';
import { connection, reconnect, refusal } from '../state/live';
import { notice, showNotice } from '../state/store';

/** Shown while the live stream is down for more than a moment (a planned reconnect, such as after
 *  a token refresh, is over before it would show). */
export function ConnectionBanner() {
  const status = connection.value;
  const down = status === 'reconnecting';
  const [shown, setShown] = useState(false);
  const [offline, setOffline] = useState(!navigator.onLine);

  useEffect(() => {
    const update = () => setOffline(!navigator.onLine);
    window.addEventListener('online', update);
    window.addEventListener('offline', update);
    return () => {
      window.removeEventListener('online', update);
      window.removeEventListener('offline', update);
    };
  }, []);

  useEffect(() => {
    if (!down) {
      // A notice of the reconnect itself (a resync, say) says more than this one.
      if (shown && !notice.value) showNotice('Reconnected: you are up to date.', 'info');
      setShown(false);
      return;
    }
    const timer = setTimeout(() => setShown(true), 1000);
    return () => clearTimeout(timer);
  }, [down]);

  if (!shown && !offline) return null;
  return (
    <div class="banner" role="status" aria-live="assertive" data-testid="connection-banner">
      <span>
        {offline
          ? 'You are offline.'
          : refusal.value === 'too_many_connections'
            ? 'Too many open windows or devices for your account: close some.'
            : 'Connection lost.'}{' '}
        Reconnecting…
      </span>
      <button type="button" onClick={() => reconnect()}>
        Retry now
      </button>
    </div>
  );
}
