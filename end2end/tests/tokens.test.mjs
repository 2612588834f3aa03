// A new user creates an API token: its secret is shown once, and it works on the REST API.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ADMIN,
  MODES,
  assertNoProblems,
  createUser,
  login,
  newPage,
  settle,
  visit,
  withBerth,
} from './support.mjs';

for (const { js, label } of MODES) {
  test(`create a user and an API token shown once that works (${label})`, async () => {
    await withBerth({}, async (berth) => {
      const adminPage = await newPage(await berth.browser(js));
      await login(adminPage, berth, js, ADMIN.username, ADMIN.password);
      const user = { username: 'dave', password: 'dave-password-12', role: 'user' };
      await createUser(adminPage, berth, js, user);

      const page = await newPage(await berth.browser(js));
      await login(page, berth, js, user.username, user.password);
      await visit(page, `${berth.url}/tokens`, js);
      assert.equal(await page.locator('#new-token').count(), 0);
      await page.fill('#create-token input[name=name]', 'ci-deploy');
      await page.selectOption('#create-token select[name=scope]', 'read');
      await page.selectOption('#create-token select[name=expires_in]', '30d');
      await page.click('#create-token button[type=submit]');

      const notice = page.locator('#new-token');
      await notice.waitFor();
      await settle(page, js);
      assert.match(await notice.innerText(), /ci-deploy/);
      const secret = (await notice.locator('pre code').innerText()).trim();
      assert.match(secret, /^berth_[A-Za-z0-9_-]{20,}$/);
      const row = page.locator('table#tokens tbody tr', { hasText: 'ci-deploy' });
      await row.waitFor();
      assert.equal((await row.locator('td').nth(2).innerText()).trim(), 'read');
      // Only a prefix of the secret is listed.
      assert.ok(!(await page.locator('table#tokens').innerText()).includes(secret));

      // Reloading no longer shows the secret.
      await page.reload();
      await settle(page, js);
      await page.locator('table#tokens tbody tr', { hasText: 'ci-deploy' }).waitFor();
      assert.equal(await page.locator('#new-token').count(), 0);
      assert.ok(!(await page.content()).includes(secret), 'the secret is still in the page');

      // The token works on the API (outside any browser session), and a wrong one does not.
      const me = await fetch(`${berth.url}/api/v1/me`, {
        headers: { Authorization: `Bearer ${secret}` },
      });
      assert.equal(me.status, 200, await me.clone().text());
      const body = await me.json();
      assert.equal(body.username, user.username);
      const bad = await fetch(`${berth.url}/api/v1/me`, {
        headers: { Authorization: `Bearer ${secret.slice(0, -4)}xxxx` },
      });
      assert.equal(bad.status, 401);

      if (js) {
        assertNoProblems(adminPage);
        assertNoProblems(page);
      }
    });
  });
}
