// Two people chat in real browsers against the whole topology (started by the Rust test
// `e2e::web_client`, which passes the URL and restarts notify when asked):
//
// alice (desktop) and bob (phone-sized) sign up, chat live (bob sees alice's message within 1 s
// without reloading), see each other typing and online, see an unread badge appear and clear on
// reading, reply, react, edit and delete on both sides, share a file, search, ask `@bot summary`,
// ride out a notify restart (banner, reconnect with the cursor, catch-up without duplicates), the
// access token is refreshed along the way, and a session revoked elsewhere ends with a message. Prints the analytics client ids for the Rust side
// to find in ClickHouse. With FECHATTER_SCREENSHOTS=dir it also saves the README's screenshots.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { assert, control, eventually, finish, launch, report, step, withTimeout } from './harness.mjs';

const BASE = process.env.FECHATTER_WEB_URL;
if (!BASE) throw new Error('FECHATTER_WEB_URL is not set');
const SHOTS = process.env.FECHATTER_SCREENSHOTS;
const WAIT = 15_000;
const run = Date.now().toString(36);
const PASSWORD = 'correct horse battery staple';

async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

async function person(browser, name, viewport) {
  const context = await browser.newContext({ viewport, locale: 'en-GB', timezoneId: 'UTC', acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  const errors = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  if (process.env.FECHATTER_BROWSER_DEBUG) page.on('console', (m) => process.stderr.write(`[${name}] ${m.type()}: ${m.text()}\n`));
  // The page's Content-Security-Policy must not have to block anything the client does.
  page.on('console', (msg) => {
    if (/Content.Security.Policy/i.test(msg.text())) errors.push(msg.text());
  });
  // Nothing but the topology's own ports may be asked for: no fonts, scripts or beacons elsewhere.
  const outside = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (!['127.0.0.1', 'localhost'].includes(url.hostname) && url.protocol !== 'blob:' && url.protocol !== 'data:')
      outside.push(request.url());
  });
  return { name, context, page, errors, outside, email: `${name}.${run}@example.test` };
}

const session = (p) => p.page.evaluate(() => JSON.parse(localStorage.getItem('fechatter.session') ?? 'null'));
/** A message by its own text (a reply's quote of another message does not count). */
const message = (p, text) =>
  p.page.locator('li.message[data-message-id]').filter({ has: p.page.getByTestId('message-text').filter({ hasText: text }) });
const composer = (p) => p.page.getByRole('textbox', { name: 'Message' });
const chatRow = (p, name) => p.page.locator('a.chat-row', { hasText: name });

async function send(p, text) {
  await composer(p).fill(text);
  await composer(p).press('Enter');
}

async function messageIds(p) {
  return p.page.locator('li.message[data-message-id]').evaluateAll((els) => els.map((e) => e.dataset.messageId));
}

async function noDuplicates(p) {
  const ids = await messageIds(p);
  assert(new Set(ids).size === ids.length, `${p.name} shows a message twice: ${ids.join(',')}`);
}

async function act(p, text, action) {
  const m = message(p, text).last();
  await m.hover();
  await m.getByRole('button', { name: action, exact: true }).click();
  return m;
}

async function openChat(p, name) {
  if (await p.page.getByRole('button', { name: 'Back to chats' }).isVisible()) {
    await p.page.getByRole('button', { name: 'Back to chats' }).click();
  }
  await chatRow(p, name.replace(/^#/, '')).click();
  await p.page.getByRole('heading', { name, exact: true }).waitFor();
}

async function backToList(p) {
  await p.page.getByRole('button', { name: 'Back to chats' }).click();
  await p.page.locator('nav.sidebar').waitFor();
}

const browser = await launch();
try {
  const alice = await person(browser, 'alice', { width: 1280, height: 800 });
  const bob = await person(browser, 'bob', { width: 390, height: 844 });

  step('alice signs up with a new workspace');
  await alice.page.goto(`${BASE}/signin`);
  await alice.page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await shot(alice.page, 'sign-in');
  await alice.page.getByRole('link', { name: 'Create an account' }).click();
  await alice.page.getByLabel('Full name').fill('Alice Archer');
  await alice.page.getByLabel('Email').fill(alice.email);
  await alice.page.getByLabel('Password').fill(PASSWORD);
  await alice.page.getByLabel('Workspace name').fill('Acme');
  await alice.page.getByRole('button', { name: 'Sign up' }).click();
  await alice.page.getByText('Welcome to Fechatter').waitFor();
  const aliceFirst = await session(alice);

  step('alice creates an invite and bob joins with it');
  await alice.page.getByRole('button', { name: 'Account menu' }).click();
  await alice.page.getByRole('menuitem', { name: 'Invite people' }).click();
  await alice.page.getByRole('button', { name: 'Create an invite code' }).click();
  const code = (await alice.page.getByTestId('invite-code').textContent())?.trim();
  assert(code, 'an invite code is shown');
  await alice.page.getByRole('button', { name: 'Close' }).click();

  await bob.page.goto(`${BASE}/signup`);
  await bob.page.getByLabel('Full name').fill('Bob Baker');
  await bob.page.getByLabel('Email').fill(bob.email);
  await bob.page.getByLabel('Password').fill(PASSWORD);
  await bob.page.getByLabel('Join with an invite code').check();
  await bob.page.getByRole('textbox', { name: 'Invite code', exact: true }).fill(code);
  await bob.page.getByRole('button', { name: 'Sign up' }).click();
  await bob.page.locator('nav.sidebar').waitFor();
  const bobSession = await session(bob);
  const aliceId = aliceFirst.user.id;
  const bobId = bobSession.user.id;

  step('alice creates #general with bob and a direct chat; bob sees both live');
  await alice.page.getByRole('button', { name: '+ New chat' }).click();
  await alice.page.getByRole('textbox', { name: 'Name', exact: true }).fill('general');
  await alice.page.getByLabel('Bob Baker').check();
  await alice.page.getByRole('button', { name: 'Create' }).click();
  await alice.page.getByRole('heading', { name: '#general' }).waitFor();
  await alice.page.getByRole('button', { name: '+ New chat' }).click();
  await alice.page.getByLabel('Direct message').check();
  await alice.page.getByLabel('Bob Baker').check();
  await alice.page.getByRole('button', { name: 'Create' }).click();
  await alice.page.getByRole('heading', { name: 'Bob Baker' }).waitFor();
  await chatRow(bob, 'general').waitFor();
  await chatRow(bob, 'Alice Archer').waitFor();

  step('presence: each sees the other online');
  await alice.page.getByTestId('chat-subtitle').filter({ hasText: 'online' }).waitFor();
  await bob.page.locator(`[data-testid="presence-online"][data-user-id="${aliceId}"]`).first().waitFor({ state: 'attached' });

  step('bob opens #general; alice types and bob sees it');
  await openChat(alice, '#general');
  await openChat(bob, '#general');
  await composer(alice).pressSequentially('hel', { delay: 30 });
  await bob.page.getByTestId('typing-indicator').filter({ hasText: 'Alice Archer is typing' }).waitFor();

  step('alice sends; bob sees it within a second without reloading');
  const hello = `hello bob, the plan is ready ${run}`;
  // Bob's page notes (on the machine's clock) when the message appears, so the driver's own
  // round trips do not count; the clock starts before alice presses Enter.
  const seenAt = bob.page.evaluate(
    (text) =>
      new Promise((resolve, reject) => {
        const found = () =>
          [...document.querySelectorAll('li.message [data-testid="message-text"]')].some((el) =>
            el.textContent?.includes(text),
          );
        const observer = new MutationObserver(() => {
          if (found()) {
            observer.disconnect();
            resolve(Date.now());
          }
        });
        observer.observe(document.body, { childList: true, subtree: true, characterData: true });
        setTimeout(() => reject(new Error('the message never appeared on bob\'s page')), 10_000);
      }),
    hello,
  );
  await composer(alice).fill(hello);
  const sentAt = Date.now();
  await composer(alice).press('Enter');
  const lag = (await seenAt) - sentAt;
  assert(lag <= 1000, `bob saw the message ${lag} ms after alice sent it (at most 1000)`);
  await message(alice, hello).waitFor();
  await bob.page.getByTestId('typing-indicator').filter({ hasText: /^$/ }).waitFor();

  step('an unread badge appears in bob\'s list and clears when he reads');
  await backToList(bob);
  const unread = `are you there? ${run}`;
  await send(alice, unread);
  const badge = chatRow(bob, 'general').getByTestId('unread-badge');
  await badge.filter({ hasText: '1' }).waitFor();
  await shot(bob.page, 'phone-list');
  await chatRow(bob, 'general').click();
  await message(bob, unread).waitFor();
  await backToList(bob);
  await badge.waitFor({ state: 'detached' });
  // The marker reached the server: a fresh load shows no badge either.
  await bob.page.reload();
  await chatRow(bob, 'general').waitFor();
  assert((await badge.count()) === 0, 'after a reload bob still has no unread badge');
  await openChat(bob, '#general');

  step('bob replies; alice reacts, edits and deletes; both sides see each change');
  await act(bob, hello, 'Reply');
  await bob.page.getByTestId('replying-to').waitFor();
  const reply = `sounds good ${run}`;
  await send(bob, reply);
  for (const p of [alice, bob]) {
    await message(p, reply).getByTestId('reply-quote').filter({ hasText: 'hello bob' }).waitFor();
  }
  // Alice wrote the root and Bob the reply: both follow the thread and see its reply count.
  for (const p of [alice, bob]) {
    await message(p, hello).getByTestId('thread-summary').filter({ hasText: '1 reply' }).waitFor();
  }
  await act(alice, reply, 'React');
  await alice.page.getByRole('menuitem', { name: 'React with 👍' }).click();
  for (const p of [alice, bob]) {
    await message(p, reply).locator('[data-testid="reaction"][data-emoji="👍"]', { hasText: '1' }).waitFor();
  }
  await act(alice, hello, 'Edit');
  const edited = `hello bob, the plan is final ${run}`;
  await alice.page.getByRole('textbox', { name: 'Edit message' }).fill(edited);
  await alice.page.getByRole('textbox', { name: 'Edit message' }).press('Enter');
  for (const p of [alice, bob]) {
    await message(p, edited).filter({ hasText: '(edited)' }).waitFor();
  }
  const doomed = await act(alice, unread, 'Delete');
  await doomed.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
  for (const p of [alice, bob]) {
    await message(p, unread).waitFor({ state: 'detached' });
  }

  step('alice shares a file; bob downloads the same bytes');
  const fileText = `the numbers for ${run}: 4, 8, 15, 16, 23, 42\n`;
  await alice.page.getByTestId('file-input').setInputFiles({
    name: 'numbers.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from(fileText),
  });
  // Uploaded (not only uploading): the attached file can be removed again.
  await alice.page.getByRole('button', { name: 'Remove numbers.txt' }).waitFor();
  await send(alice, `the numbers ${run}`);
  const attachment = message(bob, `the numbers ${run}`).getByTestId('attachment');
  await attachment.waitFor();
  const [download] = await Promise.all([
    bob.page.waitForEvent('download', { timeout: WAIT }),
    attachment.getByRole('button', { name: 'Download numbers.txt' }).click(),
  ]);
  assert(download.suggestedFilename() === 'numbers.txt', `downloaded as ${download.suggestedFilename()}`);
  const downloaded = await readFile(await download.path(), 'utf8');
  assert(downloaded === fileText, `the downloaded file has other bytes: ${JSON.stringify(downloaded)}`);

  step('search finds the edited message with the match highlighted');
  const searchFor = async (p) => {
    await p.page.locator('#global-search').fill('final');
    await p.page.locator('#global-search').press('Enter');
    const hit = p.page.getByTestId('search-hit').filter({ hasText: edited });
    await hit.waitFor();
    const marked = await hit.locator('mark').allTextContents();
    assert(marked.some((m) => m.toLowerCase() === 'final'), `the match is highlighted: ${marked}`);
  };
  await backToList(bob);
  await searchFor(bob);
  await searchFor(alice);
  await shot(alice.page, 'search');
  for (const p of [alice, bob]) {
    await p.page.getByTestId('search-hit').filter({ hasText: edited }).click();
    await p.page.getByRole('heading', { name: '#general' }).waitFor();
  }

  step('@bot summary gets an answer on both sides');
  await composer(alice).pressSequentially('@bot', { delay: 20 });
  await alice.page.getByRole('option', { name: /@bot/ }).waitFor();
  await composer(alice).press('Enter');
  await composer(alice).pressSequentially('summary');
  const completed = await composer(alice).inputValue();
  assert(completed === '@bot summary', `the mention was completed: ${JSON.stringify(completed)}`);
  await composer(alice).press('Enter');
  for (const p of [alice, bob]) {
    const answer = p.page.locator('li.message', { has: p.page.locator('.tag', { hasText: 'bot' }) });
    await answer.first().waitFor({ timeout: 45_000 });
  }
  await shot(alice.page, 'chat');
  await shot(bob.page, 'phone-chat');

  step('notify restarts: both show the banner, reconnect with their cursor, are told to resync and refetch, each message once');
  await control('stop-notify');
  for (const p of [alice, bob]) await p.page.getByTestId('connection-banner').waitFor({ timeout: 20_000 });
  // More than the topology lets notify replay (NOTIFY_REPLAY_MAX_EVENTS=4): the reconnect gets
  // `resync`, and the pages refetch instead.
  const whileDown = [1, 2, 3, 4, 5, 6].map((n) => `sent while notify was down ${n} ${run}`);
  for (const text of whileDown) {
    await send(alice, text);
    await message(alice, text).waitFor();
  }
  await control('start-notify');
  for (const p of [alice, bob]) {
    await p.page.getByTestId('connection-banner').waitFor({ state: 'detached', timeout: 30_000 });
  }
  // Not replayed (too many): only the refetch after `resync` can bring them.
  for (const text of whileDown) await message(bob, text).waitFor();
  const afterRestart = `and live again ${run}`;
  await send(alice, afterRestart);
  await message(bob, afterRestart).waitFor();
  for (const p of [alice, bob]) {
    for (const text of [...whileDown, afterRestart]) {
      assert((await message(p, text).count()) === 1, `${p.name} shows "${text}" once`);
    }
    await noDuplicates(p);
  }

  step('the access token was refreshed while the page stayed open');
  // The topology's tokens live 10 s: the page refreshes each before it expires, and notify ends
  // a stream when its token expires; the steps above ran across those handovers.
  await eventually("alice's access token to be refreshed", 20_000, async () => {
    const now = await session(alice);
    return now && now.access_token !== aliceFirst.access_token;
  });

  step("bob's session is revoked elsewhere: his page says so; alice sees him go offline");
  const revoked = await fetch(`${BASE}/api/signout`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${(await session(bob)).access_token}` },
  });
  assert(revoked.status === 204, `signing bob out from outside answered ${revoked.status}`);
  // His page learns it at its next refresh at the latest (tokens live 10 s here).
  await bob.page.getByTestId('session-ended').waitFor({ timeout: 20_000 });
  await openChat(alice, 'Bob Baker');
  await alice.page.getByTestId('chat-subtitle').filter({ hasText: 'offline' }).waitFor({ timeout: 20_000 });

  step('alice signs out from the menu');
  await alice.page.getByRole('button', { name: 'Account menu' }).click();
  await alice.page.getByRole('menuitem', { name: 'Sign out' }).click();
  await alice.page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert((await alice.page.getByTestId('session-ended').count()) === 0, 'signing out oneself is no session ending');

  for (const p of [alice, bob]) {
    assert(p.errors.length === 0, `${p.name}'s page raised: ${p.errors.join('; ')}`);
    assert(p.outside.length === 0, `${p.name}'s page asked the outside world for: ${p.outside.join(', ')}`);
  }
  const clientIds = await Promise.all(
    [alice, bob].map((p) => p.page.evaluate(() => localStorage.getItem('fechatter.client_id'))),
  );
  report({ alice: { id: aliceId, client_id: clientIds[0] }, bob: { id: bobId, client_id: clientIds[1] } });
  await withTimeout(alice.context.close(), 10_000, 'closing alice');
  await withTimeout(bob.context.close(), 10_000, 'closing bob');
} finally {
  await withTimeout(browser.close(), 10_000, 'closing the browser').catch(() => undefined);
  finish();
}
