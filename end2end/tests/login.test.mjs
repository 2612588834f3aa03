// Signing in (wrong and right password), signing out, and protected pages when signed out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ADMIN,
  MODES,
  assertNoProblems,
  newPage,
  pathOf,
  settle,
  submitLogin,
  visit,
  withBerth,
} from './support.mjs';

for (const { js, label } of MODES) {
  test(`login errors, login, logout and protected pages (${label})`, async () => {
    await withBerth({}, async (berth) => {
      const ctx = await berth.browser(js);
      const page = await newPage(ctx);

      // Signed out: a protected page sends you to the login form.
      await visit(page, `${berth.url}/projects`, js);
      await page.waitForURL((u) => u.pathname === '/login');
      assert.equal(new URL(page.url()).searchParams.get('next'), '/projects');

      // Wrong password: an error next to the form, still on /login.
      await visit(page, `${berth.url}/login`, js);
      await submitLogin(page, ADMIN.username, 'not-the-password-1');
      const error = page.locator('#login-form [role=alert]');
      await error.waitFor();
      assert.equal((await error.innerText()).trim(), 'wrong username or password');
      assert.equal(pathOf(page), '/login');
      await settle(page, js);

      // Right password: the dashboard.
      await submitLogin(page, ADMIN.username, ADMIN.password);
      await page.waitForURL((u) => u.pathname === '/');
      await page.locator('h1', { hasText: 'Dashboard' }).waitFor();
      await settle(page, js);
      assert.match(await page.locator('header .who').innerText(), new RegExp(ADMIN.username));

      // A protected page now opens.
      await visit(page, `${berth.url}/team`, js);
      await page.locator('h1', { hasText: 'Team' }).waitFor();
      assert.equal(pathOf(page), '/team');

      // Sign out: back to /login, and protected pages redirect there again.
      await page.click('header button:has-text("Sign out")');
      await page.waitForURL((u) => u.pathname === '/login');
      await page.locator('#login-form').waitFor();
      await settle(page, js);
      for (const path of ['/', '/team', '/audit', '/tokens']) {
        await visit(page, `${berth.url}${path}`, js);
        await page.waitForURL((u) => u.pathname === '/login');
        await page.locator('#login-form').waitFor();
      }

      // The wrong password's 422 from the login server function is expected.
      if (js) assertNoProblems(page, [/\/api\/login/]);
    });
  });
}
