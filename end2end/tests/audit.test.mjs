// The audit page: events in table#audit, the filter form narrows them, and the export
// link returns JSON Lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ADMIN,
  MODES,
  assertNoProblems,
  columnTexts,
  createUser,
  login,
  newPage,
  settle,
  visit,
  withBerth,
} from './support.mjs';

for (const { js, label } of MODES) {
  test(`audit page lists, filters and exports events (${label})`, async () => {
    await withBerth({}, async (berth) => {
      const page = await newPage(await berth.browser(js));
      await login(page, berth, js, ADMIN.username, ADMIN.password);
      await createUser(page, berth, js, { username: 'erin', password: 'erin-password-12', role: 'user' });

      await visit(page, `${berth.url}/audit`, js);
      await page.locator('table#audit tbody tr').first().waitFor();
      const all = await columnTexts(page, 'table#audit', 3);
      for (const action of ['user.create', 'auth.login']) {
        assert.ok(all.includes(action), `${action} missing from ${JSON.stringify(all)}`);
      }

      // Filter on the action.
      await page.fill('#audit-filter input[name=action]', 'auth.login');
      await page.click('#audit-filter button[type=submit]');
      await page.waitForURL((u) => u.pathname === '/audit' && u.searchParams.get('action') === 'auth.login');
      await settle(page, js);
      await page.locator('table#audit').waitFor();
      const filtered = await columnTexts(page, 'table#audit', 3);
      assert.ok(filtered.length >= 1, 'the filter left no rows');
      assert.ok(filtered.length < all.length, 'the filter did not narrow the rows');
      assert.ok(filtered.every((a) => a === 'auth.login'), JSON.stringify(filtered));
      assert.equal(await page.locator('#audit-filter input[name=action]').inputValue(), 'auth.login');

      // Export JSON Lines (with the filter), using the page's session.
      const link = page.locator('#audit-filter a', { hasText: 'Export JSON Lines' });
      const href = await link.getAttribute('href');
      assert.ok(href, 'the export link has no href');
      const res = await page.request.get(new URL(href, berth.url).toString());
      assert.equal(res.status(), 200);
      assert.match(res.headers()['content-type'] ?? '', /ndjson|jsonl|json/);
      const lines = (await res.text()).split('\n').filter((l) => l.length > 0);
      assert.ok(lines.length >= 1, 'the export is empty');
      const events = lines.map((l) => JSON.parse(l));
      assert.ok(events.every((e) => e.action === 'auth.login'), 'the export ignores the filter');
      assert.equal(events.length, filtered.length);

      // And unfiltered it holds every listed event.
      const full = await page.request.get(`${berth.url}/api/v1/audit/export`);
      assert.equal(full.status(), 200);
      const fullEvents = (await full.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l));
      assert.ok(fullEvents.length >= all.length);
      assert.ok(fullEvents.some((e) => e.action === 'user.create'));

      if (js) assertNoProblems(page);
    });
  });
}
