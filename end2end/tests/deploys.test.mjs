// Deploys from the browser, on the real Docker engine behind a real nginx: a deployer
// deploys the demo image from the environment page, watches the deploy page reach
// `succeeded` with its steps and log, sees the containers running (and their logs), rolls
// back from the releases table, and cancels a queued deploy. With and without JavaScript
// (without it, the deploy page refreshes itself while the deploy runs).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADMIN, MODES, assertNoProblems, login, newPage, pathOf, settle, visit, withBerth } from './support.mjs';
import { api, envUrl } from './config-support.mjs';
import {
  configureDemoEnvironment,
  demoImages,
  removeProjectContainers,
  startNginx,
} from '../lib/deploy-fixture.mjs';

const DEPLOY_WAIT = 180_000;

/** Polls the API until deploy `id` has ended; returns its detail. */
async function waitDeploy(page, berth, id) {
  const until = Date.now() + DEPLOY_WAIT;
  for (;;) {
    const d = await api(page, berth, 'GET', `/deploys/${id}`);
    if (!['queued', 'running'].includes(d.deploy.status)) return d;
    assert.ok(Date.now() < until, `deploy ${id} still ${d.deploy.status}`);
    await sleep(250);
  }
}

/** On a deploy page: waits for `status`, then checks the steps and the log are shown. */
async function watchDeploy(page, js, status) {
  await page.locator(`#deploy-status .status[data-status="${status}"]`).waitFor({ timeout: DEPLOY_WAIT });
  await settle(page, js);
  const steps = page.locator('#deploy-steps tbody tr');
  assert.ok((await steps.count()) >= 3, 'the steps are listed');
  assert.equal(await page.locator('#deploy-steps tbody tr[data-status="failed"]').count(), 0);
  assert.ok((await page.locator('#deploy-log .line').count()) > 0, 'log lines are shown');
  assert.equal(await page.locator('#cancel-deploy').count(), 0, 'no cancel button once finished');
}

function deployIdOf(page) {
  const m = pathOf(page).match(/^\/deploys\/(\d+)$/);
  assert.ok(m, `on a deploy page (${page.url()})`);
  return Number(m[1]);
}

for (const { js, label } of MODES) {
  test(`deploy, watch, inspect containers, roll back and cancel from the browser (${label})`, async () => {
    demoImages();
    const project = `shop-${js ? 'js' : 'plain'}-${randomBytes(3).toString('hex')}`;
    const env = 'staging';
    const nginx = await startNginx();
    try {
      await withBerth({}, async (berth) => {
        const page = await newPage(await berth.browser(js));
        await login(page, berth, js, ADMIN.username, ADMIN.password);
        const call = (method, path, body) => api(page, berth, method, path, body);
        await call('POST', '/projects', { name: 'Shop', slug: project });
        await call('POST', `/projects/${project}/environments`, { name: 'Staging', slug: env, protected: false, branch: '' });
        await configureDemoEnvironment(call, project, env, nginx);

        // Deploy from the environment page: it goes to the new deploy's page.
        await visit(page, envUrl(berth, project, env), js);
        assert.match(await page.locator('#proxy-manager-mode').innerText(), /^host/);
        assert.match(await page.locator('#current-release').innerText(), /Nothing is deployed yet/);
        await page.locator('#deploy-form input[name=reason]').fill('first deploy');
        await page.locator('#deploy-form button[type=submit]').click();
        await page.waitForURL((u) => /^\/deploys\/\d+$/.test(u.pathname));
        const first = deployIdOf(page);
        if (js) await page.evaluate(() => { window.__berthE2eMarker = 'live'; });
        await watchDeploy(page, js, 'succeeded');
        if (js) {
          assert.equal(await page.evaluate(() => window.__berthE2eMarker), 'live',
            'the hydrated deploy page reloaded instead of updating in place');
        }
        assert.match(await page.locator('.facts').innerText(), /first deploy/);

        // The environment page shows the release; the containers page shows them running.
        await visit(page, envUrl(berth, project, env), js);
        assert.match(await page.locator('#current-release').innerText(), /Release #1 is current/);
        await page.locator('#containers-link').click();
        await page.waitForURL((u) => u.pathname.endsWith('/containers'));
        const running = page.locator('table#containers tbody tr[data-service="web"][data-state="running"]');
        await running.nth(1).waitFor();
        await settle(page, js);
        assert.equal(await running.count(), 2);
        assert.match(await page.locator('#engine-status').innerText(), /Docker/);
        await running.first().locator('a.logs').click();
        await page.locator('#container-logs').waitFor();
        await settle(page, js);
        assert.ok(new URL(page.url()).searchParams.get('logs'), 'the logs are addressed by the URL');
        await running.first().locator('form.container-action button[name=op][value=restart]').click();
        await page.locator('table#containers tbody tr[data-service="web"][data-state="running"]').nth(1).waitFor();
        await settle(page, js);

        // A second release (v2), then roll back to #1 from the releases table.
        await call('PUT', `/projects/${project}/environments/${env}/variables/IMAGE_TAG`, { value: 'v2', secret: false });
        const second = await call('POST', `/projects/${project}/environments/${env}/deploys`, { reason: 'v2' });
        assert.equal((await waitDeploy(page, berth, second.id)).deploy.status, 'succeeded');
        await visit(page, `${envUrl(berth, project, env)}/deploys`, js);
        const current = page.locator('table#releases tbody tr.current');
        assert.match(await current.innerText(), /berth-demo:v2/);
        await page.locator('table#releases tbody tr[data-number="1"] form.rollback button').click();
        await page.waitForURL((u) => /^\/deploys\/\d+$/.test(u.pathname) && u.pathname !== `/deploys/${first}`);
        await watchDeploy(page, js, 'succeeded');
        assert.match(await page.locator('.facts').innerText(), /rollback/);
        await visit(page, `${envUrl(berth, project, env)}/deploys`, js);
        assert.match(await page.locator('table#releases tbody tr.current').innerText(), /berth-demo:v1/);
        await page.locator('table#deploys tbody tr[data-status="succeeded"]').nth(2).waitFor();

        // One deploy runs, the next waits in the queue: cancel the waiting one.
        const running1 = await call('POST', `/projects/${project}/environments/${env}/deploys`, { reason: 'runs' });
        const queued = await call('POST', `/projects/${project}/environments/${env}/deploys`, { reason: 'waits', supersede: false });
        assert.equal(queued.status, 'queued');
        await visit(page, `${envUrl(berth, project, env)}/deploys`, js);
        const row = page.locator(`table#deploys tbody tr[data-id="${queued.id}"]`);
        assert.match(await row.innerText(), /queued/);
        await row.locator('form.cancel-deploy button').click();
        await page.locator(`table#deploys tbody tr[data-id="${queued.id}"][data-status="cancelled"]`).waitFor();
        await settle(page, js);
        assert.equal((await waitDeploy(page, berth, queued.id)).deploy.status, 'cancelled');
        assert.equal((await waitDeploy(page, berth, running1.id)).deploy.status, 'succeeded');

        // The nav's Deploys page lists them across projects.
        await visit(page, `${berth.url}/deploys`, js);
        await page.locator(`table#deploys tbody tr[data-id="${queued.id}"]`).waitFor();
        if (js) assertNoProblems(page);
      });
    } finally {
      nginx.stop();
      removeProjectContainers(project);
    }
  });
}
