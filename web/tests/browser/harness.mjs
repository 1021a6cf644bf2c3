// What the browser scenario needs around Playwright: Debian's chromium launched for a closed
// network, a line protocol with the Rust test that runs the topology (it stops and starts
// services on request), bounded waits and plain assertions.

import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.FECHATTER_CHROMIUM ?? '/usr/bin/chromium';

/** Flags for a machine whose only network is loopback: no background calls to the outside. */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-features=Translate,MediaRouter,OptimizationHints',
];

export async function launch() {
  // Each context is a fresh profile (like a private window): two people, two sessions.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
}

const lines = createInterface({ input: process.stdin });
const waiting = [];
const received = [];
lines.on('line', (line) => {
  const next = waiting.shift();
  if (next) next(line);
  else received.push(line);
});

/** Asks the Rust side to do something to the topology and waits for its answer. */
export async function control(command, timeoutMs = 60_000) {
  process.stdout.write(`@@control ${command}\n`);
  const answer = received.length
    ? received.shift()
    : await withTimeout(new Promise((resolve) => waiting.push(resolve)), timeoutMs, `control ${command}`);
  if (answer !== 'ok') throw new Error(`control ${command} failed: ${answer}`);
}

/** Lets node exit: the open stdin would keep it running. */
export function finish() {
  lines.close();
  process.stdin.destroy();
}

export function report(result) {
  process.stdout.write(`@@result ${JSON.stringify(result)}\n`);
}

const started = Date.now();
export function step(name) {
  process.stdout.write(`@@step ${name} (at ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}

export async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

/** Polls `check` (async) until it returns a truthy value, at most `ms`. */
export async function eventually(what, ms, check) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
