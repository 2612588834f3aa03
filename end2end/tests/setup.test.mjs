// First start: the one-time setup link creates the first admin, signs them in, and is
// then spent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MODES, assertNoProblems, newPage, settle, visit, withBerth } from './support.mjs';

for (const { js, label } of MODES) {
  test(`setup link creates the first admin and is single-use (${label})`, async () => {
    await withBerth({ admin: false }, async (berth) => {
      await berth.waitForLog('/setup?token=');
      const setupUrl = berth.setupUrl();
      const ctx = await berth.browser(js);
      const page = await newPage(ctx);

      await visit(page, setupUrl, js);
      await page.locator('#setup-form').waitFor();
      await page.fill('#setup-form input[name=username]', 'founder');
      await page.fill('#setup-form input[name=password]', 'founder-password-1');
      await page.click('#setup-form button[type=submit]');

      // Signed in on the dashboard.
      await page.waitForURL((u) => u.pathname === '/');
      await page.locator('h1', { hasText: 'Dashboard' }).waitFor();
      await settle(page, js);
      assert.match(await page.locator('header .who').innerText(), /founder\s*admin/);

      // The same link again: used, no form.
      await visit(page, setupUrl, js);
      await page.getByRole('alert').filter({ hasText: 'This setup link is used' }).waitFor();
      assert.equal(await page.locator('#setup-form').count(), 0);

      if (js) assertNoProblems(page);
    });
  });
}
