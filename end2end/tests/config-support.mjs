// Shared steps for the environment / variable / secret browser tests. Not a test file
// itself (no `.test.` in the name).
import assert from 'node:assert/strict';
import { settle, visit } from './support.mjs';

/** Calls the REST API with the page's browser session (the API accepts it). */
export async function api(page, berth, method, path, data) {
  const res = await page.request.fetch(`${berth.url}/api/v1${path}`, {
    method,
    data,
    headers: { Origin: berth.url },
  });
  assert.ok(res.ok(), `${method} ${path}: HTTP ${res.status()} ${await res.text()}`);
  return res.json().catch(() => null);
}

/** As a signed-in admin: users (instance role "user"), a project, and their memberships. */
export async function setupProject(page, berth, { project, members }) {
  for (const m of members) {
    await api(page, berth, 'POST', '/users', {
      username: m.username,
      password: m.password,
      instance_role: 'user',
    });
  }
  await api(page, berth, 'POST', '/projects', { name: project.name, slug: project.slug });
  for (const m of members) {
    await api(page, berth, 'PUT', `/projects/${project.slug}/members/${m.username}`, { role: m.role });
  }
}

export function envUrl(berth, project, env) {
  return `${berth.url}/projects/${project}/environments/${env}`;
}

/** The row of variable `name` at `scope` (an environment slug or "project"). */
export function varRow(page, name, scope) {
  return page.locator(`table#variables tbody tr[data-name="${name}"][data-scope="${scope}"]`);
}

/** Waits until variable `name` is listed at `scope` with version `version`. */
export async function waitForVersion(page, name, scope, version) {
  await varRow(page, name, scope)
    .filter({ has: page.locator('td:nth-child(4)', { hasText: new RegExp(`^\\s*${version}\\s*$`) }) })
    .waitFor();
}

/** Fills and submits the set-variable form on the current page, and waits for the row. */
export async function setVariable(page, js, { name, value, secret = false, missing = false, scope, version }) {
  const form = page.locator('#set-variable');
  await form.locator('input[name=name]').fill(name);
  await form.locator('input[name=value]').fill(value ?? '');
  await form.locator('input[name=secret]').setChecked(secret);
  await form.locator('input[name=missing]').setChecked(missing);
  await form.locator('button[type=submit]').click();
  await waitForVersion(page, name, scope, version);
  await settle(page, js);
}

/** Creates an environment from the project page's form and waits for its row. */
export async function createEnvironment(page, berth, js, project, env) {
  await visit(page, `${berth.url}/projects/${project}`, js);
  const form = page.locator('#create-environment');
  await form.locator('input[name=name]').fill(env.name);
  await form.locator('input[name=slug]').fill(env.slug);
  await form.locator('input[name=branch]').fill(env.branch ?? '');
  await form.locator('input[name=protected]').setChecked(!!env.protected);
  await form.locator('button[type=submit]').click();
  await page.locator(`table#environments tbody tr[data-slug="${env.slug}"]`).waitFor();
  await settle(page, js);
}
