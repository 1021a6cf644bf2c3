// @mentions as fechatter_server finds them: an `@` at a word start, then handle characters
// (ASCII letters, digits, `.`, `_`, `-`) without trailing punctuation, in any case.

const HANDLE_CHAR = /[A-Za-z0-9._-]/;

function startsWord(text: string, at: number): boolean {
  if (at === 0) return true;
  return !/[\p{L}\p{N}._@-]/u.test(text[at - 1]!);
}

/** The mention being typed at `caret`: where its `@` is and what follows it so far. */
export function mentionAt(text: string, caret: number): { start: number; query: string } | null {
  let i = caret;
  while (i > 0 && HANDLE_CHAR.test(text[i - 1]!)) i--;
  if (i === 0 || text[i - 1] !== '@' || !startsWord(text, i - 1)) return null;
  return { start: i - 1, query: text.slice(i, caret) };
}

/** Replaces the mention being typed with `@handle ` and returns the new text and caret. */
export function completeMention(
  text: string,
  start: number,
  caret: number,
  handle: string,
): { text: string; caret: number } {
  const inserted = `@${handle} `;
  return { text: text.slice(0, start) + inserted + text.slice(caret), caret: start + inserted.length };
}

export interface Token {
  kind: 'text' | 'mention' | 'link';
  text: string;
  handle?: string;
}

/** Splits message text into plain text, @mentions and http(s) links, for rendering as nodes. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re = /(https?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]}'])|@([A-Za-z0-9._-]+)/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[2] !== undefined) {
      const handle = m[2].replace(/[._-]+$/, '');
      if (!startsWord(text, m.index) || handle === '') continue;
      if (m.index > last) tokens.push({ kind: 'text', text: text.slice(last, m.index) });
      tokens.push({ kind: 'mention', text: `@${handle}`, handle: handle.toLowerCase() });
      last = m.index + 1 + handle.length;
      re.lastIndex = last;
      continue;
    }
    if (m.index > last) tokens.push({ kind: 'text', text: text.slice(last, m.index) });
    tokens.push({ kind: 'link', text: m[0] });
    last = m.index + m[0].length;
  }
  if (last < text.length) tokens.push({ kind: 'text', text: text.slice(last) });
  return tokens;
}
