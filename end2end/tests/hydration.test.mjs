// With JavaScript the pages hydrate without errors and forms submit in place; without
// JavaScript the same form works as a plain post that redirects back.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { ADMIN, assertNoProblems, login, newPage, settle, visit, withBerth } from './support.mjs';

test('no page logs console errors once hydrated (with JavaScript)', async () => {
  await withBerth({}, async (berth) => {
    const page = await newPage(await berth.browser(true));
    await visit(page, `${berth.url}/login`, true);
    await visit(page, berth.setupUrl(), true); // spent link page (an admin exists)
    await login(page, berth, true, ADMIN.username, ADMIN.password);
    const paths = [
      '/', '/projects', '/deploys', '/charts', '/alerts', '/backups',
      '/audit', '/audit?action=auth.login', '/team', '/tokens', '/settings', '/no-such-page',
    ];
    for (const path of paths) {
      await visit(page, `${berth.url}${path}`, true);
      assert.equal(new URL(page.url()).pathname, path.split('?')[0]);
    }
    // The wasm must actually have been loaded for these pages to count as hydrated.
    const wasm = await page.evaluate(() =>
      performance.getEntriesByType('resource').some((e) => e.name.endsWith('.wasm')),
    );
    assert.ok(wasm, 'no .wasm was loaded');
    // Only the unknown page's own 404 is expected.
    assertNoProblems(page, [/\/no-such-page$/]);
  });
});

test('a hydrated create-project form updates the table without a page load', async () => {
  await withBerth({}, async (berth) => {
    const page = await newPage(await berth.browser(true));
    await login(page, berth, true, ADMIN.username, ADMIN.password);
    await visit(page, `${berth.url}/projects`, true);
    await page.locator('#create-project').waitFor();

    await page.evaluate(() => {
      window.__berthE2eMarker = 'still-here';
    });
    const documents = [];
    page.on('request', (r) => {
      if (r.resourceType() === 'document') documents.push(`${r.method()} ${r.url()}`);
    });

    await page.fill('#create-project input[name=name]', 'Hydra One');
    await page.fill('#create-project input[name=slug]', 'hydra-one');
    await page.click('#create-project button[type=submit]');
    const row = page.locator('table#projects tbody tr', { hasText: 'hydra-one' });
    await row.waitFor();
    await settle(page, true);

    assert.equal(await page.evaluate(() => window.__berthE2eMarker), 'still-here',
      'the page was reloaded: the form was not handled by the hydrated app');
    assert.deepEqual(documents, [], 'the submit loaded a new document');
    assert.match(await row.innerText(), /Hydra One/);
    assertNoProblems(page);
  });
});

test('the create-project form works as a plain form post (without JavaScript)', async () => {
  await withBerth({}, async (berth) => {
    const page = await newPage(await berth.browser(false));
    await login(page, berth, false, ADMIN.username, ADMIN.password);
    await visit(page, `${berth.url}/projects`, false);
    assert.match(await page.locator('#create-project').getAttribute('method'), /post/i);
    await page.fill('#create-project input[name=name]', 'Plain One');
    await page.fill('#create-project input[name=slug]', 'plain-one');
    await page.click('#create-project button[type=submit]');
    await page.locator('table#projects tbody tr', { hasText: 'plain-one' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/projects');
  });
});

/** GET without any decoding: { status, headers, body } as sent on the wire. */
function raw(url, headers = {}) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

test('the wasm and JS are content-addressed, cached for a year and sent compressed', async () => {
  await withBerth({}, async (berth) => {
    const html = (await raw(`${berth.url}/login`)).body.toString();
    const js = html.match(/href="(\/pkg\/[0-9a-f]{16}\/berth\.js)"/)?.[1];
    const wasm = html.match(/href="(\/pkg\/[0-9a-f]{16}\/berth(?:_bg)?\.wasm)"/)?.[1];
    const css = html.match(/href="(\/pkg\/[0-9a-f]{16}\/berth\.css)"/)?.[1];
    assert.ok(js && wasm && css, `no content-addressed links in the page: ${html.slice(0, 2000)}`);
    const style = await raw(`${berth.url}${css}`, { 'accept-encoding': 'gzip' });
    assert.equal(style.status, 200);
    assert.match(style.headers['content-type'] ?? '', /text\/css/);
    assert.match(style.headers['cache-control'] ?? '', /immutable/);
    for (const [path, coding] of [[wasm, 'br'], [js, 'br'], [wasm, 'gzip']]) {
      const res = await raw(`${berth.url}${path}`, { 'accept-encoding': coding });
      assert.equal(res.status, 200, path);
      assert.equal(res.headers['content-encoding'], coding, `${path} ${coding}`);
      assert.match(res.headers['cache-control'] ?? '', /immutable/);
      if (path === wasm && coding === 'br') {
        assert.ok(res.body.length <= 1024 * 1024, `the wasm is ${res.body.length} bytes on the wire`);
      }
    }
    // Without compression the file is sent as it is; revalidation answers 304.
    const plain = await raw(`${berth.url}${wasm}`);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body.subarray(0, 4).toString('hex'), '0061736d', 'not a wasm module');
    const again = await raw(`${berth.url}${wasm}`, { 'if-none-match': plain.headers.etag });
    assert.equal(again.status, 304);
    // Each encoding has its own tag: the brotli form's tag does not validate the plain one.
    const br = await raw(`${berth.url}${wasm}`, { 'accept-encoding': 'br' });
    assert.notEqual(br.headers.etag, plain.headers.etag);
    const mixed = await raw(`${berth.url}${wasm}`, { 'if-none-match': br.headers.etag });
    assert.equal(mixed.status, 200);
    assert.equal(mixed.headers['content-encoding'], undefined);
  });
});
