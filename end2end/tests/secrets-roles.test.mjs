// Who may see and change secrets. A viewer sees the variables but no secret value and no
// forms to change them, and posting the set-variable server function from the viewer's
// session is refused. An admin reveals a secret (JavaScript), and the reveal is audited.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN, MODES, assertNoProblems, login, newPage, settle, visit, withBerth } from './support.mjs';
import { api, envUrl, setupProject, varRow } from './config-support.mjs';

const VIC = { username: 'vic', password: 'vic-password-1234', role: 'viewer' };
const PROJECT = { name: 'Shop', slug: 'shop' };

/** As the admin: an environment with a plain variable, a secret and a project variable. */
async function seedConfig(admin, berth, secret) {
  await setupProject(admin, berth, { project: PROJECT, members: [VIC] });
  await api(admin, berth, 'POST', '/projects/shop/environments', {
    name: 'Staging',
    slug: 'staging',
    protected: false,
    branch: 'develop',
  });
  await api(admin, berth, 'PUT', '/projects/shop/environments/staging/variables/DEBUG', { value: 'true', secret: false });
  await api(admin, berth, 'PUT', '/projects/shop/environments/staging/variables/DB_PASSWORD', { value: secret, secret: true });
  await api(admin, berth, 'PUT', '/projects/shop/variables/SITE_NAME', { value: 'Shop', secret: false });
}

for (const { js, label } of MODES) {
  test(`a viewer sees variables but no secret value, and cannot change them (${label})`, async () => {
    await withBerth({}, async (berth) => {
      const secret = `viewer-cannot-see-${Date.now()}`;
      const admin = await newPage(await berth.browser(js));
      await login(admin, berth, js, ADMIN.username, ADMIN.password);
      await seedConfig(admin, berth, secret);

      // The admin is offered the set-variable form; remember where it posts.
      await visit(admin, envUrl(berth, 'shop', 'staging'), js);
      const action = await admin.locator('#set-variable').getAttribute('action');
      assert.match(action ?? '', /^\/api\/set_variable/);

      const page = await newPage(await berth.browser(js));
      await login(page, berth, js, VIC.username, VIC.password);
      await visit(page, envUrl(berth, 'shop', 'staging'), js);
      await varRow(page, 'DB_PASSWORD', 'staging').waitFor();
      assert.equal((await varRow(page, 'DEBUG', 'staging').locator('td').nth(2).innerText()).trim(), 'true');
      assert.equal((await varRow(page, 'SITE_NAME', 'project').locator('td').nth(2).innerText()).trim(), 'Shop');
      const pw = varRow(page, 'DB_PASSWORD', 'staging');
      assert.equal((await pw.locator('td').nth(2).innerText()).trim(), '••••');
      assert.ok(!(await page.content()).includes(secret), 'the secret value is in the page');
      for (const sel of ['#set-variable', 'form.delete-variable', 'button.reveal', '#update-environment']) {
        assert.equal(await page.locator(sel).count(), 0, `a viewer is offered ${sel}`);
      }
      // The project page neither offers forms to a viewer.
      await visit(page, `${berth.url}/projects/shop`, js);
      await page.locator('table#environments tbody tr[data-slug="staging"]').waitFor();
      for (const sel of ['#create-environment', '#set-variable', 'form.delete-variable']) {
        assert.equal(await page.locator(sel).count(), 0, `a viewer is offered ${sel} on the project page`);
      }

      // Posting the server function directly from the viewer's session is refused.
      const res = await page.request.post(`${berth.url}${action}`, {
        form: { project: 'shop', env: 'staging', name: 'DB_PASSWORD', value: 'overwritten', secret: 'on' },
        headers: { Origin: berth.url },
        maxRedirects: 0,
      });
      assert.ok(
        res.status() >= 400 && res.status() < 500,
        `expected a 4xx refusal, got ${res.status()}: ${await res.text()}`,
      );
      const vars = await api(admin, berth, 'GET', '/projects/shop/environments/staging/variables');
      const list = Array.isArray(vars) ? vars : (vars.variables ?? vars.items ?? []);
      const row = list.find((v) => v.name === 'DB_PASSWORD');
      assert.equal(row?.version, 1, `the secret changed: ${JSON.stringify(vars)}`);

      if (js) {
        assertNoProblems(admin);
        assertNoProblems(page);
      }
    });
  });
}

test('an admin reveals a secret, and the reveal is audited (with JavaScript)', async () => {
  await withBerth({}, async (berth) => {
    const secret = `revealed-${Date.now()}-value`;
    const page = await newPage(await berth.browser(true));
    await login(page, berth, true, ADMIN.username, ADMIN.password);
    await seedConfig(page, berth, secret);

    await visit(page, envUrl(berth, 'shop', 'staging'), true);
    const pw = varRow(page, 'DB_PASSWORD', 'staging');
    await pw.waitFor();
    assert.ok(!(await page.content()).includes(secret), 'the secret value is in the page before Reveal');
    await pw.locator('button.reveal').click();
    await pw.locator('code.revealed').waitFor();
    assert.equal((await pw.locator('code.revealed').innerText()).trim(), secret);
    await settle(page, true);

    await visit(page, `${berth.url}/audit?action=secret.reveal`, true);
    const row = page.locator('table#audit tbody tr', { hasText: 'secret.reveal' });
    await row.first().waitFor();
    assert.equal(await row.count(), 1);
    assert.match(await row.locator('td').nth(2).innerText(), /admin/);
    assert.match(await row.locator('td').nth(4).innerText(), /DB_PASSWORD/);
    assert.ok(!(await page.content()).includes(secret), 'the secret value is in the audit log');

    // Loading the environment page again reveals nothing by itself.
    await visit(page, envUrl(berth, 'shop', 'staging'), true);
    await varRow(page, 'DB_PASSWORD', 'staging').waitFor();
    assert.ok(!(await page.content()).includes(secret), 'the secret value is in the page after a reload');
    await visit(page, `${berth.url}/audit?action=secret.reveal`, true);
    await page.locator('table#audit tbody tr', { hasText: 'secret.reveal' }).first().waitFor();
    assert.equal(await page.locator('table#audit tbody tr', { hasText: 'secret.reveal' }).count(), 1);

    assertNoProblems(page);
  });
});
