/** The wait before reconnect attempt `attempt` (0-based): doubling from 250 ms up to 5 s, with
 *  ±20 % jitter so clients cut off together do not return together; a server's Retry-After wins
 *  when it asks for longer. */
export function backoffDelay(attempt: number, retryAfterMs?: number, random = Math.random): number {
  const base = Math.min(5_000, 250 * 2 ** Math.min(attempt, 10));
  const jittered = base * (0.8 + 0.4 * random());
  return Math.round(Math.max(jittered, retryAfterMs ?? 0));
}
