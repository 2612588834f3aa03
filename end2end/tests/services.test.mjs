// Services on the stack page: a maintainer creates one with the "New service" form,
// sees it listed, edits its replicas in the pre-filled form (the rest is kept), gets a
// bad value refused next to its field, and deletes it. With and without JavaScript.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN, MODES, assertNoProblems, login, newPage, settle, visit, withBerth } from './support.mjs';
import { api, setupProject } from './config-support.mjs';

const MAY = { username: 'may', password: 'may-password-1234', role: 'maintainer' };

function serviceRow(page, name) {
  return page.locator(`table#services tbody tr[data-name="${name}"]`);
}

for (const { js, label } of MODES) {
  test(`a maintainer creates a service on the stack page and edits its replicas (${label})`, async () => {
    await withBerth({}, async (berth) => {
      const admin = await newPage(await berth.browser(js));
      await login(admin, berth, js, ADMIN.username, ADMIN.password);
      await setupProject(admin, berth, { project: { name: 'IDP CMS', slug: 'idp-cms' }, members: [MAY] });
      await api(admin, berth, 'POST', '/projects/idp-cms/environments', { name: 'Production', slug: 'production', protected: false, branch: 'main' });

      const page = await newPage(await berth.browser(js));
      await login(page, berth, js, MAY.username, MAY.password);
      const stackUrl = `${berth.url}/projects/idp-cms/environments/production/stack`;
      await visit(page, stackUrl, js);

      await page.locator('#new-service-card summary').click();
      const form = page.locator('#new-service');
      await form.locator('input[name=name]').fill('authoring');
      await form.locator('input[name=image]').fill('idp-cms/authoring:${GIT_SHA}');
      await form.locator('input[name=replicas]').fill('2');
      await form.locator('input[name=http_port]').fill('8000');
      await form.locator('input[name=command]').fill('gunicorn -b 0.0.0.0:8000 "cms.wsgi:application"');
      await form.locator('textarea[name=env_vars]').fill('DJANGO_SETTINGS_MODULE=cms.settings.prod\nWEB_CONCURRENCY=4');
      await form.locator('textarea[name=ports]').fill('127.0.0.1:8000:8000/tcp');
      await form.locator('textarea[name=volumes]').fill('media:/app/media:ro\nconf:/etc/conf:ro');
      await form.locator('input[name=cpu_limit]').fill('2');
      await form.locator('input[name=memory_limit]').fill('4G');
      await form.locator('input[name=health_path]').fill('/api/health');
      await form.locator('input[name=health_interval]').fill('30');
      await form.locator('textarea[name=pre_deploy]').fill('migrate: python manage.py migrate --noinput\ncollectstatic: python manage.py collectstatic --noinput');
      await form.locator('button[type=submit]').click();
      const row = serviceRow(page, 'authoring');
      await row.waitFor();
      await settle(page, js);
      assert.match(await row.innerText(), /idp-cms\/authoring:\$\{GIT_SHA\}/);
      assert.match(await row.innerText(), /4\.0 GiB/);

      let [svc] = await api(page, berth, 'GET', '/projects/idp-cms/environments/production/services');
      assert.equal(svc.spec.replicas, 2);
      assert.deepEqual(svc.spec.command, ['gunicorn', '-b', '0.0.0.0:8000', 'cms.wsgi:application']);
      assert.deepEqual(svc.spec.pre_deploy.map((j) => j.name), ['migrate', 'collectstatic']);
      assert.deepEqual(svc.spec.ports, [{ host_ip: '127.0.0.1', host_port: 8000, container_port: 8000, protocol: 'tcp' }]);

      // A negative replica count is refused next to the field; nothing changes.
      await row.locator('details.edit-service summary').click();
      let edit = page.locator('#edit-service-authoring');
      assert.equal(await edit.locator('input[name=memory_limit]').inputValue(), '4G');
      await edit.locator('input[name=replicas]').fill('-1');
      await edit.locator('button[type=submit]').click();
      // Without JavaScript the page reloads with the form closed: open it again.
      if (!js) await serviceRow(page, 'authoring').locator('details.edit-service summary').click();
      edit = page.locator('#edit-service-authoring');
      await edit.locator('label:has(input[name=replicas]) p.error').waitFor();
      await settle(page, js);
      [svc] = await api(page, berth, 'GET', '/projects/idp-cms/environments/production/services');
      assert.equal(svc.spec.replicas, 2);

      // Edit the replicas: everything else is kept.
      await visit(page, stackUrl, js);
      await serviceRow(page, 'authoring').locator('details.edit-service summary').click();
      edit = page.locator('#edit-service-authoring');
      assert.equal(await edit.locator('input[name=replicas]').inputValue(), '2');
      await edit.locator('input[name=replicas]').fill('3');
      await edit.locator('button[type=submit]').click();
      await serviceRow(page, 'authoring').locator('td:nth-child(3)', { hasText: /^\s*3\s*$/ }).waitFor();
      await settle(page, js);
      const before = svc.spec;
      [svc] = await api(page, berth, 'GET', '/projects/idp-cms/environments/production/services');
      assert.deepEqual(svc.spec, { ...before, replicas: 3 });

      // Delete it.
      await serviceRow(page, 'authoring').locator('form.delete-service button').click();
      await page.locator('.empty', { hasText: 'No services yet' }).waitFor();
      await settle(page, js);
      assert.deepEqual(await api(page, berth, 'GET', '/projects/idp-cms/environments/production/services'), []);
      if (js) assertNoProblems(page, [/\/api\/put_service/]);
    });
  });
}
