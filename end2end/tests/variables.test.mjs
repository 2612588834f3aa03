// A maintainer creates an environment and sets a plain variable and a secret: the
// secret's value never appears in any page (nor the audit log). Editing the secret makes
// a new configuration version, and the diff shows it as "changed" with no value.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ADMIN, MODES, assertNoProblems, login, newPage, pathOf, settle, visit, withBerth } from './support.mjs';
import { createEnvironment, envUrl, setVariable, setupProject, varRow } from './config-support.mjs';

const MIA = { username: 'mia', password: 'mia-password-123', role: 'maintainer' };
const PROJECT = { name: 'Shop', slug: 'shop' };

for (const { js, label } of MODES) {
  test(`a maintainer sets variables and secrets; secret values never show (${label})`, async () => {
    await withBerth({}, async (berth) => {
      const admin = await newPage(await berth.browser(js));
      await login(admin, berth, js, ADMIN.username, ADMIN.password);
      await setupProject(admin, berth, { project: PROJECT, members: [MIA] });

      const page = await newPage(await berth.browser(js));
      await login(page, berth, js, MIA.username, MIA.password);
      await createEnvironment(page, berth, js, 'shop', { name: 'Staging', slug: 'staging', branch: 'develop' });
      const envRow = page.locator('table#environments tbody tr[data-slug="staging"]');
      assert.match(await envRow.innerText(), /develop/);
      assert.equal(await envRow.locator('.badge.protected').count(), 0);

      // Follow the link to the environment page.
      await envRow.locator('a').click();
      await page.waitForURL((u) => u.pathname === '/projects/shop/environments/staging');
      await settle(page, js);
      await page.locator('h1', { hasText: 'Staging' }).waitFor();

      const secret = `s3cr3t-${js ? 'js' : 'nojs'}-${Date.now()}-value`;
      await setVariable(page, js, { name: 'DEBUG', value: 'true', scope: 'staging', version: 1 });
      await setVariable(page, js, { name: 'DB_PASSWORD', value: secret, secret: true, scope: 'staging', version: 1 });
      await setVariable(page, js, { name: 'API_KEY', missing: true, secret: true, scope: 'staging', version: 1 });

      assert.equal((await varRow(page, 'DEBUG', 'staging').locator('td').nth(2).innerText()).trim(), 'true');
      const pw = varRow(page, 'DB_PASSWORD', 'staging');
      assert.equal(await pw.locator('.badge.secret').count(), 1);
      assert.equal((await pw.locator('td').nth(2).innerText()).trim(), '••••');
      assert.equal(await pw.locator('button.reveal').count(), 0, 'a maintainer must not be offered Reveal');
      assert.equal(await varRow(page, 'API_KEY', 'staging').locator('.badge', { hasText: 'missing' }).count(), 1);

      // The secret is nowhere in the page, even after a reload.
      assert.ok(!(await page.content()).includes(secret), 'the secret value is in the page');
      await page.reload();
      await settle(page, js);
      await varRow(page, 'DB_PASSWORD', 'staging').waitFor();
      assert.ok(!(await page.content()).includes(secret), 'the secret value is in the reloaded page');

      // Nor in the audit log, which records the change.
      for (const p of [page, admin]) {
        await visit(p, `${berth.url}/audit`, js);
        await p.locator('table#audit tbody tr', { hasText: 'secret.set' }).first().waitFor();
        assert.ok(!(await p.content()).includes(secret), 'the secret value is in /audit');
      }
      const exported = await admin.request.get(`${berth.url}/api/v1/audit/export`);
      assert.equal(exported.status(), 200);
      assert.ok(!(await exported.text()).includes(secret), 'the secret value is in the audit export');

      // Nor in anything Berth logged, nor in its data directory (database, WAL, key file).
      assert.ok(!berth.logs().includes(secret), 'the secret value is in the server log');
      // Every file, in subdirectories too (the metrics storage keeps its WAL and blocks there).
      for (const f of readdirSync(berth.dataDir, { recursive: true, withFileTypes: true })) {
        if (!f.isFile()) continue;
        const path = join(f.parentPath ?? f.path, f.name);
        const bytes = readFileSync(path);
        assert.ok(!bytes.includes(Buffer.from(secret)), `the secret value is in ${path}`);
      }

      if (js) {
        assertNoProblems(admin);
        assertNoProblems(page);
      }
    });
  });

  test(`editing a secret makes a new version; the diff says "changed" without values (${label})`, async () => {
    await withBerth({}, async (berth) => {
      const admin = await newPage(await berth.browser(js));
      await login(admin, berth, js, ADMIN.username, ADMIN.password);
      await setupProject(admin, berth, { project: PROJECT, members: [MIA] });

      const page = await newPage(await berth.browser(js));
      await login(page, berth, js, MIA.username, MIA.password);
      await createEnvironment(page, berth, js, 'shop', { name: 'Production', slug: 'production', branch: 'main' });
      await visit(page, envUrl(berth, 'shop', 'production'), js);
      const first = `first-${Date.now()}-pw`;
      const second = `second-${Date.now()}-pw`;
      await setVariable(page, js, { name: 'DEBUG', value: 'false', scope: 'production', version: 1 });
      await setVariable(page, js, { name: 'DB_PASSWORD', value: first, secret: true, scope: 'production', version: 1 });
      const before = await page.locator('table#versions tbody tr').count();
      await setVariable(page, js, { name: 'DB_PASSWORD', value: second, secret: true, scope: 'production', version: 2 });
      await page.locator('table#versions tbody tr').nth(before).waitFor();
      const after = await page.locator('table#versions tbody tr').count();
      assert.equal(after, before + 1, 'editing the secret made no new version');
      const newest = page.locator('table#versions tbody tr').first();
      assert.match(await newest.innerText(), /set DB_PASSWORD/);
      assert.match(await newest.innerText(), /mia/);

      // The diff form defaults to the last two versions; it is a GET form.
      await page.locator('#diff-form button[type=submit]').click();
      await page.waitForURL((u) => u.searchParams.has('from') && u.searchParams.has('to'));
      await settle(page, js);
      const url = new URL(page.url());
      assert.equal(pathOf(page), '/projects/shop/environments/production');
      assert.equal(Number(url.searchParams.get('to')), after);
      assert.equal(Number(url.searchParams.get('from')), after - 1);
      const change = page.locator('table#diff tbody tr[data-key="variables.DB_PASSWORD"]');
      await change.waitFor();
      assert.equal((await change.locator('td').nth(1).innerText()).trim(), 'changed');
      assert.equal(await page.locator('table#diff tbody tr').count(), 1, 'only the secret changed');
      const html = await page.content();
      assert.ok(!html.includes(first) && !html.includes(second), 'a secret value is in the diff page');

      // A wider diff shows the plain variable's value, and the secret still without one.
      await page.fill('#diff-form input[name=from]', '0');
      await page.locator('#diff-form button[type=submit]').click();
      await page.waitForURL((u) => u.searchParams.get('from') === '0');
      await settle(page, js);
      const debug = page.locator('table#diff tbody tr[data-key="variables.DEBUG"]');
      await debug.waitFor();
      assert.equal((await debug.locator('td').nth(1).innerText()).trim(), 'added');
      assert.equal((await debug.locator('td').nth(3).innerText()).trim(), 'false');
      const html2 = await page.content();
      assert.ok(!html2.includes(first) && !html2.includes(second), 'a secret value is in the diff page');

      if (js) {
        assertNoProblems(admin);
        assertNoProblems(page);
      }
    });
  });
}
