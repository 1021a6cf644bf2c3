// Search snippets arrive HTML-escaped with matches wrapped in <mark>…</mark>. They are split into
// plain text parts here and rendered as text nodes, never as HTML.

export interface SnippetPart {
  text: string;
  match: boolean;
}

const ENTITIES: Record<string, string> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&#39;': "'",
  '&#x27;': "'",
  '&#x2F;': '/',
};

export function unescapeHtml(text: string): string {
  return text.replace(/&(?:amp|lt|gt|quot|#39|#x27|#x2F);/g, (e) => ENTITIES[e] ?? e);
}

export function snippetParts(snippet: string): SnippetPart[] {
  const parts: SnippetPart[] = [];
  const re = /<mark>([\s\S]*?)<\/mark>/g;
  let last = 0;
  for (let m = re.exec(snippet); m; m = re.exec(snippet)) {
    if (m.index > last) parts.push({ text: unescapeHtml(snippet.slice(last, m.index)), match: false });
    parts.push({ text: unescapeHtml(m[1]!), match: true });
    last = m.index + m[0].length;
  }
  if (last < snippet.length) parts.push({ text: unescapeHtml(snippet.slice(last)), match: false });
  return parts;
}
