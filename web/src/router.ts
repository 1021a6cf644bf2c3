// Routes are real paths (fechatter_server answers every non-API path with index.html), so a
// reload or a shared link opens the same screen.

import { signal } from '@preact/signals';

export type Route =
  | { name: 'home' }
  | { name: 'chat'; chatId: number }
  | { name: 'search'; q: string }
  | { name: 'browse' }
  | { name: 'signin' }
  | { name: 'signup' };

export function parse(pathname: string, search: string): Route {
  const chat = /^\/chats\/(\d+)\/?$/.exec(pathname);
  if (chat) return { name: 'chat', chatId: Number(chat[1]) };
  if (pathname === '/search') return { name: 'search', q: new URLSearchParams(search).get('q') ?? '' };
  if (pathname === '/channels') return { name: 'browse' };
  if (pathname === '/signin') return { name: 'signin' };
  if (pathname === '/signup') return { name: 'signup' };
  return { name: 'home' };
}

export function pathOf(route: Route): string {
  switch (route.name) {
    case 'chat':
      return `/chats/${route.chatId}`;
    case 'search':
      return route.q ? `/search?q=${encodeURIComponent(route.q)}` : '/search';
    case 'browse':
      return '/channels';
    case 'signin':
      return '/signin';
    case 'signup':
      return '/signup';
    default:
      return '/';
  }
}

export const route = signal<Route>(parse(location.pathname, location.search));

export function navigate(next: Route, replace = false) {
  const path = pathOf(next);
  if (replace) history.replaceState(null, '', path);
  else if (path !== location.pathname + location.search) history.pushState(null, '', path);
  route.value = next;
}

window.addEventListener('popstate', () => {
  route.value = parse(location.pathname, location.search);
});
