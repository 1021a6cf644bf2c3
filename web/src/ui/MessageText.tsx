import { tokenize } from '../text/mentions';
import { me, users } from '../state/store';

/** Message text as nodes: @mentions of known people highlighted, http(s) links clickable. */
export function MessageText({ text }: { text: string }) {
  const handles = new Set([...users.value.values()].map((u) => u.handle.toLowerCase()));
  const mine = me.value?.handle.toLowerCase();
  return (
    <>
      {tokenize(text).map((token, i) => {
        if (token.kind === 'link')
          return (
            <a key={i} href={token.text} target="_blank" rel="noopener noreferrer nofollow">
              {token.text}
            </a>
          );
        if (token.kind === 'mention' && token.handle && (handles.has(token.handle) || token.handle === 'bot'))
          return (
            <span key={i} class={`mention${token.handle === mine ? ' me' : ''}`}>
              {token.text}
            </span>
          );
        return token.text;
      })}
    </>
  );
}
