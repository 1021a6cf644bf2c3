import { online, users } from '../state/store';
import { Icon } from './Icon';

const COLORS = ['#3b5bdb', '#2b8a3e', '#c2255c', '#e67700', '#5f3dc4', '#0b7285', '#a61e4d', '#364fc7'];

export function Avatar({ userId, small }: { userId: number; small?: boolean }) {
  const user = users.value.get(userId);
  const name = user?.fullname ?? '?';
  const initials = name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]!.toUpperCase())
    .join('');
  const isOnline = online.value.has(userId);
  return (
    <span
      class={`avatar${small ? ' small' : ''}`}
      style={{ background: user?.is_bot ? '#495057' : COLORS[userId % COLORS.length] }}
      aria-hidden="true"
    >
      {user?.is_bot ? <Icon name="bot" size={small ? 14 : 20} /> : initials}
      {!user?.is_bot && <span
        class={`presence ${isOnline ? 'on' : 'off'}`}
        data-testid={isOnline ? 'presence-online' : 'presence-offline'}
        data-user-id={userId}
      />}
    </span>
  );
}
