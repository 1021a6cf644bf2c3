import { signal } from '@preact/signals';

export type Dialog =
  | { kind: 'new-chat' }
  | { kind: 'members'; chatId: number }
  | { kind: 'invite' };

export const dialog = signal<Dialog | null>(null);
