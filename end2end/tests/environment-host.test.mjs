// Marking a remote Docker host as reachable without TLS: an instance admin ticks "plain
// TCP, no TLS" in the environment's settings (with and without JavaScript), the page then
// warns about it, and the change is audited. A project admin who is not an instance admin
// sees the box but cannot change it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN, MODES, assertNoProblems, login, newPage, settle, visit, withBerth } from './support.mjs';
import { api, envUrl, setupProject } from './config-support.mjs';

const PAT = { username: 'pat', password: 'pat-password-1234', role: 'admin' };

async function save(page, js) {
  await page.locator('#update-environment button[type=submit]').click();
  await settle(page, js);
}

for (const { js, label } of MODES) {
  test(`an instance admin marks a tcp:// Docker host insecure, a project admin cannot (${label})`, async () => {
    await withBerth({}, async (berth) => {
      const admin = await newPage(await berth.browser(js));
      await login(admin, berth, js, ADMIN.username, ADMIN.password);
      await setupProject(admin, berth, { project: { name: 'Shop', slug: 'shop' }, members: [PAT] });
      await api(admin, berth, 'POST', '/projects/shop/environments', { name: 'Remote', slug: 'remote' });
      await api(admin, berth, 'PATCH', '/projects/shop/environments/remote', {
        name: 'Remote',
        docker_host: 'tcp://127.0.0.1:9',
      });

      await visit(admin, envUrl(berth, 'shop', 'remote'), js);
      await admin.locator('#docker-tls-missing').waitFor();
      assert.equal(await admin.locator('#docker-insecure').count(), 0);
      const box = admin.locator('#update-environment input[name=docker_insecure]');
      assert.equal(await box.isChecked(), false);
      await box.check();
      await save(admin, js);
      await admin.locator('#docker-insecure').waitFor();
      let env = await api(admin, berth, 'GET', '/projects/shop/environments/remote');
      assert.equal(env.docker_insecure, true, JSON.stringify(env));

      // A project admin cannot lift it (nor set it again).
      const pat = await newPage(await berth.browser(js));
      await login(pat, berth, js, PAT.username, PAT.password);
      await visit(pat, envUrl(berth, 'shop', 'remote'), js);
      await pat.locator('#docker-insecure').waitFor();
      await pat.locator('#update-environment input[name=docker_insecure]').uncheck();
      await save(pat, js);
      await pat.locator('#environment-settings .error', { hasText: 'not allowed' }).first().waitFor();
      env = await api(admin, berth, 'GET', '/projects/shop/environments/remote');
      assert.equal(env.docker_insecure, true, 'a project admin lifted the mark');

      // The instance admin lifts it: the warning goes.
      await visit(admin, envUrl(berth, 'shop', 'remote'), js);
      await admin.locator('#update-environment input[name=docker_insecure]').uncheck();
      await save(admin, js);
      // The TLS warning shows in both states; the insecure warning is what goes.
      await admin.locator('#docker-insecure').waitFor({ state: 'detached' });
      await admin.locator('#docker-tls-missing').waitFor();
      env = await api(admin, berth, 'GET', '/projects/shop/environments/remote');
      assert.equal(env.docker_insecure, false);

      const audit = await api(admin, berth, 'GET', '/audit?action=environment.update');
      const events = (audit.events ?? []).filter((e) => JSON.stringify(e.summary).includes('docker_insecure'));
      assert.equal(events.length, 2, JSON.stringify(audit));
      if (js) {
        assertNoProblems(admin);
        assertNoProblems(pat, [/\/api\/update_environment/]);
      }
    });
  });
}
