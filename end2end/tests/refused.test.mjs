// A refused action: a plain user cannot create a project, neither through the UI (the
// form is not offered) nor by posting the server function directly, and the refusal is
// in the audit log as authz.denied.
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
  visit,
  withBerth,
} from './support.mjs';

for (const { js, label } of MODES) {
  test(`a plain user is refused project creation, and it is audited (${label})`, async () => {
    await withBerth({}, async (berth) => {
      const adminPage = await newPage(await berth.browser(js));
      await login(adminPage, berth, js, ADMIN.username, ADMIN.password);
      const user = { username: 'carol', password: 'carol-password-1', role: 'user' };
      await createUser(adminPage, berth, js, user);

      // The admin is offered the create-project form; remember where it posts.
      await visit(adminPage, `${berth.url}/projects`, js);
      const action = await adminPage.locator('#create-project').getAttribute('action');
      assert.match(action ?? '', /^\/api\/create_project/);

      // The user, in a separate browser, is not offered the form.
      const userPage = await newPage(await berth.browser(js));
      await login(userPage, berth, js, user.username, user.password);
      await visit(userPage, `${berth.url}/projects`, js);
      await userPage.locator('h1', { hasText: 'Projects' }).waitFor();
      assert.equal(await userPage.locator('#create-project').count(), 0);

      // Posting the server function directly from the user's session is refused.
      const res = await userPage.request.post(`${berth.url}${action}`, {
        form: { name: 'Sneaky', slug: 'sneaky' },
        headers: { Origin: berth.url },
        maxRedirects: 0,
      });
      assert.ok(
        res.status() >= 400 && res.status() < 500,
        `expected a 4xx refusal, got ${res.status()}: ${await res.text()}`,
      );

      // No project was created.
      await visit(adminPage, `${berth.url}/projects`, js);
      await adminPage.locator('h1', { hasText: 'Projects' }).waitFor();
      assert.equal(await adminPage.locator('table#projects tr', { hasText: 'sneaky' }).count(), 0);

      // The admin's audit page shows the refusal.
      await visit(adminPage, `${berth.url}/audit?action=authz.denied`, js);
      await adminPage.locator('table#audit').waitFor();
      const denied = adminPage.locator('table#audit tbody tr', { hasText: 'authz.denied' });
      assert.ok((await denied.count()) >= 1, 'no authz.denied row in the audit table');
      const row = denied.first();
      assert.match(await row.locator('td').nth(2).innerText(), new RegExp(user.username));
      assert.match(await row.locator('td').nth(7).innerText(), /create_project/);
      assert.ok((await columnTexts(adminPage, 'table#audit', 3)).every((a) => a === 'authz.denied'));

      if (js) {
        assertNoProblems(adminPage);
        assertNoProblems(userPage);
      }
    });
  });
}
