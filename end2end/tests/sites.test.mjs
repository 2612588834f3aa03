// Sites on the project's sites page: a maintainer creates the seed's site-a, edits it and
// sees it listed; a hostname another site already has is refused next to the hosts field
// and changes nothing; the generated nginx config then serves site-a's names; a viewer
// sees the sites but no form. With and without JavaScript.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN, MODES, assertNoProblems, login, newPage, settle, visit, withBerth } from './support.mjs';
import { api, setupProject } from './config-support.mjs';

const MAY = { username: 'may', password: 'may-password-1234', role: 'maintainer' };
const VIC = { username: 'vic', password: 'vic-password-1234', role: 'viewer' };
const PROJECT = { name: 'IDP CMS', slug: 'idp-cms' };
const ROUTES = [
  '/static/ -> files /app/static/ 1y',
  '/media/ -> files /app/media/ 30d',
  '/api/ -> service authoring',
  '/admin/ -> service authoring',
  '/ -> service portal',
].join('\n');

/** As the admin: the project with may and vic, `production`, and the two web services. */
async function seedStack(admin, berth) {
  await setupProject(admin, berth, { project: PROJECT, members: [MAY, VIC] });
  await api(admin, berth, 'POST', '/projects/idp-cms/environments', { name: 'Production', slug: 'production', protected: false, branch: 'main' });
  for (const [name, port] of [['authoring', 8000], ['portal', 3000]]) {
    await api(admin, berth, 'PUT', `/projects/idp-cms/environments/production/services/${name}`, {
      name,
      image: `idp-cms/${name}:latest`,
      replicas: 1,
      http_port: port,
    });
  }
}

function siteRow(page, name) {
  return page.locator(`table#sites tbody tr[data-name="${name}"]`);
}

async function fillSite(form, { name, hosts, routes, health }) {
  if (name !== undefined) await form.locator('input[name=name]').fill(name);
  if (hosts !== undefined) await form.locator('textarea[name=hosts]').fill(hosts);
  if (routes !== undefined) await form.locator('textarea[name=routes]').fill(routes);
  if (health !== undefined) await form.locator('input[name=health_path]').fill(health);
  await form.locator('button[type=submit]').click();
}

for (const { js, label } of MODES) {
  test(`a maintainer creates and edits a site; a duplicate hostname is refused (${label})`, async () => {
    await withBerth({}, async (berth) => {
      const admin = await newPage(await berth.browser(js));
      await login(admin, berth, js, ADMIN.username, ADMIN.password);
      await seedStack(admin, berth);

      const page = await newPage(await berth.browser(js));
      await login(page, berth, js, MAY.username, MAY.password);
      await visit(page, `${berth.url}/projects/idp-cms`, js);
      await page.locator('#sites-link').click();
      await page.waitForURL((u) => u.pathname === '/projects/idp-cms/sites');
      await settle(page, js);
      await page.locator('.empty', { hasText: 'No sites yet' }).waitFor(); // the list may still be loading after a client-side navigation

      // Create the seed's site-a.
      await fillSite(page.locator('#new-site'), {
        name: 'site-a',
        hosts: 'production: site-a.com www.site-a.com',
        routes: ROUTES,
        health: '/api/health',
      });
      const row = siteRow(page, 'site-a');
      await row.waitFor();
      await settle(page, js);
      assert.match(await row.locator('td.hosts').innerText(), /production\s+site-a\.com www\.site-a\.com/);
      assert.equal((await row.locator('td.routes').innerText()).trim(), '5');

      // Edit it: the form is pre-filled with the current values.
      await row.locator('details.edit-site summary').click();
      const edit = page.locator('#edit-site-site-a');
      assert.equal(await edit.locator('textarea[name=hosts]').inputValue(), 'production: site-a.com www.site-a.com');
      assert.equal(await edit.locator('textarea[name=routes]').inputValue(), ROUTES);
      await edit.locator('textarea[name=smoke_checks]').fill('/api/feed?size=1 | .items non-empty | .debug.site == ${HOST}');
      await edit.locator('input[name=cache_timeout_secs]').fill('300');
      await fillSite(edit, { health: '/api/healthz' });
      await siteRow(page, 'site-a').locator('td', { hasText: '/api/healthz' }).waitFor();
      await settle(page, js);
      await visit(page, `${berth.url}/projects/idp-cms/sites`, js);
      assert.equal((await siteRow(page, 'site-a').locator('td').nth(3).innerText()).trim(), '/api/healthz');
      let sites = await api(page, berth, 'GET', '/projects/idp-cms/sites');
      assert.equal(sites.length, 1);
      const spec = sites[0].spec;
      assert.deepEqual(spec.hosts.production, { primary: 'site-a.com', aliases: ['www.site-a.com'] });
      assert.deepEqual(spec.routes.map((r) => r.path), ['/static/', '/media/', '/api/', '/admin/', '/']);
      assert.deepEqual(spec.routes[0].target, { kind: 'files', root: '/app/static/', expires: '1y' });
      assert.deepEqual(spec.routes[4].target, { kind: 'service', service: 'portal' });
      assert.equal(spec.cache_timeout_secs, 300);
      assert.deepEqual(spec.smoke_checks[0].assertions, [
        { op: 'non_empty', pointer: '.items' },
        { op: 'equals', pointer: '.debug.site', value: '${HOST}' },
      ]);

      // A second site claiming www.site-a.com in production: an error next to the hosts
      // field, and nothing written.
      await fillSite(page.locator('#new-site'), { name: 'site-b', hosts: 'production: site-b.com www.site-a.com', routes: '/ -> service portal' });
      const hostsError = page.locator('#new-site label:has(textarea[name=hosts]) + p.error');
      await hostsError.waitFor();
      assert.match(await hostsError.innerText(), /www\.site-a\.com is already used by site "site-a" in production/);
      await settle(page, js);
      sites = await api(page, berth, 'GET', '/projects/idp-cms/sites');
      assert.deepEqual(sites.map((s) => s.name), ['site-a']);
      assert.equal(await siteRow(page, 'site-b').count(), 0);

      // The generated nginx config serves site-a's names.
      await visit(page, `${berth.url}/projects/idp-cms/environments/production/stack`, js);
      assert.match(await page.locator('#nginx-config').innerText(), /server_name site-a\.com www\.site-a\.com;/);
      if (js) {
        assertNoProblems(page, [/\/api\/put_site/]);
        assertNoProblems(admin);
      }
    });
  });

  test(`a viewer sees sites and services but no form to change them (${label})`, async () => {
    await withBerth({}, async (berth) => {
      const admin = await newPage(await berth.browser(js));
      await login(admin, berth, js, ADMIN.username, ADMIN.password);
      await seedStack(admin, berth);
      await api(admin, berth, 'PUT', '/projects/idp-cms/sites/site-a', {
        name: 'site-a',
        hosts: { production: { primary: 'site-a.com', aliases: ['www.site-a.com'] } },
        routes: [{ path: '/', target: { kind: 'service', service: 'portal' } }],
        health_path: '/api/health',
      });

      const page = await newPage(await berth.browser(js));
      await login(page, berth, js, VIC.username, VIC.password);
      await visit(page, `${berth.url}/projects/idp-cms/sites`, js);
      await siteRow(page, 'site-a').waitFor();
      assert.match(await siteRow(page, 'site-a').innerText(), /site-a\.com www\.site-a\.com/);
      for (const sel of ['#new-site', 'details.edit-site', 'form.delete-site', 'form.site-form']) {
        assert.equal(await page.locator(sel).count(), 0, `a viewer is offered ${sel}`);
      }
      await visit(page, `${berth.url}/projects/idp-cms/environments/production/stack`, js);
      await page.locator('table#services tbody tr[data-name="portal"]').waitFor();
      for (const sel of ['#new-service', 'details.edit-service', 'form.delete-service', 'form.service-form']) {
        assert.equal(await page.locator(sel).count(), 0, `a viewer is offered ${sel}`);
      }
      if (js) assertNoProblems(page);
    });
  });
}
