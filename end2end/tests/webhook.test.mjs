// The project's GitHub webhook from the browser: a maintainer finds the page from the
// project page, reads what to paste into GitHub, generates the secret (shown once), and sees
// the deliveries GitHub sends (signed here with node:crypto): a push to the deploy branch
// deployed, a push to another branch skipped with the reason, a wrongly signed one refused.
// The delivery page shows the checked signature and the payload, and replays the delivery.
// With and without JavaScript.
import assert from 'node:assert/strict';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { ADMIN, MODES, assertNoProblems, login, newPage, pathOf, settle, visit, withBerth } from './support.mjs';
import { api } from './config-support.mjs';

const PROJECT = { name: 'Shop', slug: 'shop' };

function sign(secret, body) {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** A GitHub push payload (the fields Berth reads). */
function pushBody(branch, sha) {
  return JSON.stringify({
    ref: `refs/heads/${branch}`,
    before: '0'.repeat(40),
    after: sha,
    deleted: false,
    repository: { full_name: 'octo-org/shop' },
    pusher: { name: 'octocat' },
    sender: { login: 'octocat' },
    head_commit: { id: sha, message: `Change on ${branch}\n\nwith a body` },
  });
}

/** Sends a push delivery as GitHub does, signed with `secret`; returns { id, status, body }. */
async function deliver(berth, project, { secret, body }) {
  const id = randomUUID();
  const res = await fetch(`${berth.url}/api/hooks/github/${project}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/e2e',
      'x-github-event': 'push',
      'x-github-delivery': id,
      'x-hub-signature-256': sign(secret, body),
    },
    body,
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: the assertion below shows the text
  }
  return { id, status: res.status, json, text };
}

function deliveryRow(page, id) {
  return page.locator(`table#deliveries tbody tr[data-delivery="${id}"]`);
}

for (const { js, label } of MODES) {
  test(`GitHub webhook: secret shown once, deliveries deployed, skipped and refused, replay (${label})`, async () => {
    await withBerth({}, async (berth) => {
      const page = await newPage(await berth.browser(js));
      await login(page, berth, js, ADMIN.username, ADMIN.password);
      await api(page, berth, 'POST', '/projects', PROJECT);
      await api(page, berth, 'POST', `/projects/${PROJECT.slug}/environments`, {
        name: 'production',
        slug: 'production',
        protected: false,
        branch: 'main',
      });

      // From the project page to the webhook page.
      await visit(page, `${berth.url}/projects/${PROJECT.slug}`, js);
      await page.locator('#webhook-link').click();
      await page.waitForURL((u) => u.pathname === `/projects/${PROJECT.slug}/webhook`);
      await page.locator('#webhook-setup').waitFor();
      await settle(page, js);

      // What to paste into GitHub; no secret yet.
      assert.match((await page.locator('#hook-url').innerText()).trim(), new RegExp(`/api/hooks/github/${PROJECT.slug}$`));
      assert.equal((await page.locator('#hook-content-type').innerText()).trim(), 'application/json');
      assert.match(await page.locator('#hook-secret').innerText(), /not set/);
      const target = page.locator('#hook-targets tbody tr', { hasText: 'production' });
      assert.equal(await target.count(), 1);
      const cells = await target.locator('td').allInnerTexts();
      assert.equal(cells[1].trim(), 'main');
      assert.equal(cells[2].trim(), 'push');
      await page.locator('#webhook-manage').waitFor();
      assert.equal(await page.locator('#new-webhook-secret').count(), 0);

      // Generate the secret: shown once (without JavaScript, after the redirect back).
      await page.locator('#generate-secret button[type=submit]').click();
      const shown = page.locator('#new-webhook-secret pre code');
      await shown.waitFor({ timeout: 10_000 }).catch(async () => {
        assert.fail(
          `the new secret is not shown at ${page.url()}; #webhook-manage reads: ` +
            JSON.stringify(await page.locator('#webhook-manage').innerText().catch(() => '(missing)')),
        );
      });
      await settle(page, js);
      assert.equal(pathOf(page), `/projects/${PROJECT.slug}/webhook`);
      const secret = (await shown.innerText()).trim();
      assert.ok(secret.length >= 16, `a secret of at least 16 characters: ${JSON.stringify(secret)}`);

      // GitHub's deliveries: a push to main deploys production, one to feature/x is skipped,
      // one signed with another secret is refused.
      const sha = randomBytes(20).toString('hex');
      const main = await deliver(berth, PROJECT.slug, { secret, body: pushBody('main', sha) });
      assert.equal(main.status, 202, main.text);
      assert.equal(main.json?.outcome, 'deployed', main.text);
      assert.deepEqual(main.json.deploys.map((d) => d.environment), ['production'], main.text);
      const feature = await deliver(berth, PROJECT.slug, {
        secret,
        body: pushBody('feature/x', randomBytes(20).toString('hex')),
      });
      assert.equal(feature.status, 200, feature.text);
      assert.equal(feature.json?.outcome, 'skipped', feature.text);
      const forged = await deliver(berth, PROJECT.slug, {
        secret: `${secret}-not-it`,
        body: pushBody('main', randomBytes(20).toString('hex')),
      });
      assert.equal(forged.status, 401, forged.text);

      // Reloaded, the page lists the three and no longer shows the secret.
      await page.reload();
      await settle(page, js);
      await deliveryRow(page, main.id).waitFor();
      assert.equal(await deliveryRow(page, main.id).getAttribute('data-outcome'), 'deployed');
      assert.match(await deliveryRow(page, main.id).innerText(), /production #\d+/);
      const skipped = deliveryRow(page, feature.id);
      assert.equal(await skipped.getAttribute('data-outcome'), 'skipped');
      assert.match(await skipped.locator('.reason').innerText(), /no environment deploys branch `feature\/x`/);
      const refused = deliveryRow(page, forged.id);
      assert.equal(await refused.getAttribute('data-outcome'), 'refused');
      assert.equal((await refused.locator('.sig').innerText()).trim(), 'invalid');
      assert.match(await page.locator('#hook-secret').innerText(), /^set \(/);
      assert.equal(await page.locator('#new-webhook-secret').count(), 0);
      assert.ok(!(await page.content()).includes(secret), 'the secret is still in the page after a reload');

      // The deployed delivery in detail.
      await deliveryRow(page, main.id).locator('a', { hasText: 'details' }).click();
      await page.waitForURL((u) => /^\/projects\/shop\/webhook\/deliveries\/\d+$/.test(u.pathname));
      const deliveryId = Number(pathOf(page).split('/').pop());
      await page.locator('#delivery-signature').waitFor();
      await settle(page, js);
      assert.equal((await page.locator('#delivery-signature').innerText()).trim(), 'valid');
      const outcome = page.locator('#delivery-outcome');
      assert.equal(await outcome.locator('.status').getAttribute('data-status'), 'deployed');
      assert.match(await outcome.innerText(), /production #\d+/);
      const headers = await page.locator('table#delivery-headers').innerText();
      assert.match(headers, new RegExp(`x-github-delivery\\s+${main.id}`, 'i'));
      assert.match(headers, /x-github-event\s+push/i);
      const payload = await page.locator('pre#delivery-payload').innerText();
      assert.ok(payload.includes(sha), `the payload shows the commit id: ${payload}`);
      assert.ok(payload.includes('\n  '), 'the payload is pretty-printed');
      assert.deepEqual(JSON.parse(payload).after, sha);
      assert.equal(await page.locator('#replays').count(), 0);
      assert.ok(!(await page.content()).includes(secret), 'the secret is in the delivery page');

      // Replay it: the replay is listed on the delivery page.
      await page.locator('#replay-delivery button[type=submit]').click();
      const replay = page.locator('section#replays table#deliveries tbody tr');
      await replay.first().waitFor();
      await settle(page, js);
      assert.equal(pathOf(page), `/projects/${PROJECT.slug}/webhook/deliveries/${deliveryId}`);
      assert.equal(await replay.count(), 1);
      assert.equal(await replay.getAttribute('data-delivery'), main.id);
      assert.equal(await replay.getAttribute('data-outcome'), 'deployed');
      assert.equal((await replay.locator('.sig').innerText()).trim(), 'replay');
      assert.match(await replay.innerText(), new RegExp(`replay of #${deliveryId} by admin`));

      if (js) assertNoProblems(page);
    });
  });
}
