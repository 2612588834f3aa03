// An environment's metrics page, with and without JavaScript: a static target (Berth's own
// /metrics, scraped every second) shows up and healthy, the query box answers `up` in a
// table, and a maintainer adds a target through the form.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN, MODES, assertNoProblems, login, newPage, settle, visit, withBerth } from './support.mjs';
import { api, envUrl, setupProject } from './config-support.mjs';

for (const { js, label } of MODES) {
  test(`the metrics page shows targets, answers a query and adds a target (${label})`, async () => {
    await withBerth({}, async (berth) => {
      const page = await newPage(await berth.browser(js));
      await login(page, berth, js, ADMIN.username, ADMIN.password);
      await setupProject(page, berth, { project: { name: 'Shop', slug: 'shop' }, members: [] });
      await api(page, berth, 'POST', '/projects/shop/environments', { name: 'Staging', slug: 'staging' });
      await api(page, berth, 'POST', '/projects/shop/environments/staging/metrics/targets', {
        job_name: 'self',
        address: `127.0.0.1:${berth.port}`,
        interval_ms: 1000,
        timeout_ms: 900,
      });
      const url = `${envUrl(berth, 'shop', 'staging')}/metrics`;
      // The environment page links here.
      await visit(page, envUrl(berth, 'shop', 'staging'), js);
      await page.locator('#metrics-link').click();
      await page.waitForURL((u) => u.pathname.endsWith('/metrics'));
      await settle(page, js);
      // Scraped within a few seconds (the page shows what the scheduler last did).
      const up = page.locator('#targets tr[data-job="self"][data-health="up"]');
      for (let i = 0; i < 40 && (await up.count()) === 0; i++) {
        await new Promise((r) => setTimeout(r, 250));
        await visit(page, url, js);
      }
      await up.waitFor();

      await page.locator('#query-form input[name=q]').fill('up{job="self"}');
      await page.locator('#query-form button[type=submit]').click();
      await page.waitForURL((u) => u.searchParams.get('q') === 'up{job="self"}');
      await settle(page, js);
      const cell = page.locator('#query-result tbody tr td').nth(1);
      await cell.waitFor();
      assert.equal((await cell.textContent()).trim(), '1');
      const series = await page.locator('#query-result tbody tr td').first().textContent();
      assert.match(series, /project="shop"/);
      await page.locator('#query-chart').waitFor();

      // A bad query says why, in Prometheus's words.
      await visit(page, `${url}?q=${encodeURIComponent('rate(up[5m]')}`, js);
      await page.locator('#query-error', { hasText: 'bad_data' }).waitFor();

      // A maintainer adds a target through the form.
      await page.locator('#add-target input[name=job_name]').fill('extra');
      await page.locator('#add-target input[name=address]').fill('127.0.0.1:9');
      await page.locator('#add-target button[type=submit]').click();
      await settle(page, js);
      await page.locator('#targets tr[data-job="extra"]').waitFor();
      const targets = await api(page, berth, 'GET', '/projects/shop/environments/staging/metrics/targets');
      assert.ok(targets.some((t) => t.job === 'extra' && t.instance === '127.0.0.1:9'), JSON.stringify(targets));
      if (js) assertNoProblems(page);
    });
  });
}
