import { session } from '../auth/session';
import { route } from '../router';
import { notice } from '../state/store';
import { AuthScreen } from './AuthScreen';
import { Shell } from './Shell';

export function App() {
  const signedIn = session.value !== null;
  return (
    <>
      {signedIn ? <Shell /> : <AuthScreen mode={route.value.name === 'signup' ? 'signup' : 'signin'} />}
      {notice.value && (
        <div class={`toast toast-${notice.value.kind}`} role="status" aria-live="polite" data-testid="notice">
          {notice.value.text}
        </div>
      )}
    </>
  );
}
