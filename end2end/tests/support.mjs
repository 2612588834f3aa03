// Shared steps for the browser tests. Not a test file itself (no `.test.` in the name).
//
// Every scenario runs twice: with JavaScript (the page hydrates and forms go through
// Leptos' ActionForm) and without (plain HTML forms post to the server functions, which
// redirect back). Steps wait on URLs and selectors, never on fixed sleeps.
import assert from 'node:assert/strict';
import { createAdminViaCli, launchBrowser, startBerth } from '../lib/harness.mjs';

export const MODES = [
  { js: true, label: 'with JavaScript' },
  { js: false, label: 'without JavaScript' },
];

export const ADMIN = { username: 'admin', password: 'admin-password-123' };

/**
 * Starts Berth (optionally with an admin created through the CLI), runs `fn(berth)` and
 * always stops it and closes every browser context opened through `berth.browser()`.
 */
export async function withBerth({ admin = true } = {}, fn) {
  const berth = await startBerth();
  const contexts = [];
  berth.browser = async (js) => {
    const ctx = await launchBrowser({ javaScriptEnabled: js });
    contexts.push(ctx);
    return ctx;
  };
  try {
    if (admin) await createAdminViaCli(berth.dataDir, ADMIN.username, ADMIN.password);
    await fn(berth);
  } finally {
    for (const ctx of contexts) await ctx.close().catch(() => {});
    await berth.stop();
  }
}

/**
 * A new page that records console errors and uncaught page errors in `page.problems`.
 */
export async function newPage(ctx) {
  const page = await ctx.newPage();
  page.problems = [];
  page.on('console', (m) => {
    // The browser runs on the Docker host: a deploy's containers add and remove network
    // interfaces, and Chromium then aborts requests in flight with ERR_NETWORK_CHANGED (seen
    // once in CI on the deploy log's page). That is the test machine's network, not the
    // page; what the page must do afterwards is still asserted by each test.
    if (m.type() === 'error' && !m.text().includes('net::ERR_NETWORK_CHANGED')) {
      page.problems.push({ text: `console.error at ${page.url()}: ${m.text()}`, source: m.location().url });
    }
  });
  page.on('pageerror', (e) => page.problems.push({ text: `page error at ${page.url()}: ${e.message}` }));
  return page;
}

/** With JavaScript: waits until the page has loaded its wasm and gone quiet (hydrated). */
export async function settle(page, js) {
  await page.waitForLoadState('load');
  if (js) {
    await page.waitForLoadState('networkidle');
    // Fail here, with the cause, rather than later on a timeout when hydration broke.
    const thrown = page.problems.filter((p) => p.text.startsWith('page error'));
    assert.deepEqual(thrown.map((p) => p.text), [], 'the page threw (hydration failed?)');
  }
}

export async function visit(page, url, js) {
  await page.goto(url);
  await settle(page, js);
}

/**
 * Asserts that the page logged no console errors and threw no page errors. `expected`
 * lists the HTTP error responses a test provoked on purpose (e.g. a 422 for a wrong
 * password): the browser's own "Failed to load resource" line for a URL matching one
 * of them is not a problem.
 */
export function assertNoProblems(page, expected = []) {
  const left = page.problems
    .filter(
      (p) =>
        !(
          p.source &&
          /Failed to load resource: the server responded with a status of 4\d\d/.test(p.text) &&
          expected.some((re) => re.test(p.source))
        ),
    )
    .map((p) => p.text);
  assert.deepEqual(left, [], 'the page logged errors');
}

export function pathOf(page) {
  const u = new URL(page.url());
  return u.pathname;
}

/** Fills the login form and submits it (the caller waits for the outcome). */
export async function submitLogin(page, username, password) {
  await page.fill('#login-form input[name=username]', username);
  await page.fill('#login-form input[name=password]', password);
  await page.click('#login-form button[type=submit]');
}

/** Signs in through /login and waits for the dashboard. */
export async function login(page, berth, js, username, password) {
  await visit(page, `${berth.url}/login`, js);
  await submitLogin(page, username, password);
  await page.waitForURL((u) => u.pathname === '/');
  await page.locator('h1', { hasText: 'Dashboard' }).waitFor();
  await settle(page, js);
}

/** Creates a user on the Team page (as a signed-in admin) and waits for its row. */
export async function createUser(page, berth, js, { username, password, role }) {
  await visit(page, `${berth.url}/team`, js);
  await page.fill('#create-user input[name=username]', username);
  await page.fill('#create-user input[name=password]', password);
  await page.selectOption('#create-user select[name=instance_role]', role);
  await page.click('#create-user button[type=submit]');
  const row = page.locator('table#users tbody tr', { hasText: username });
  await row.waitFor();
  await settle(page, js);
  assert.equal((await row.locator('td').nth(1).innerText()).trim(), role);
}

/** The texts of one column of a table's body rows. */
export async function columnTexts(page, tableSel, index) {
  return page
    .locator(`${tableSel} tbody tr`)
    .evaluateAll((rows, i) => rows.map((r) => r.cells[i]?.innerText.trim() ?? ''), index);
}
