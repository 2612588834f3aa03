// Proves the harness itself: chromium through playwright-core, and the log parsing.
// These need no Berth binary.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  createAdminViaCli,
  findSetupUrl,
  freePort,
  launchBrowser,
  startBerth,
} from '../lib/harness.mjs';

test('chromium opens a page through playwright-core', async () => {
  const ctx = await launchBrowser({ javaScriptEnabled: true });
  try {
    const page = await ctx.newPage();
    await page.goto('data:text/html,<h1>ok</h1>');
    assert.equal(await page.textContent('h1'), 'ok');
  } finally {
    await ctx.close();
  }
});

test('javaScriptEnabled switches scripts on and off', async () => {
  const html = '<p id="p">static</p><script>document.getElementById("p").textContent="js"</script>';
  for (const [javaScriptEnabled, expected] of [
    [true, 'js'],
    [false, 'static'],
  ]) {
    const ctx = await launchBrowser({ javaScriptEnabled });
    try {
      const page = await ctx.newPage();
      await page.goto(`data:text/html,${encodeURIComponent(html)}`);
      assert.equal(await page.textContent('#p'), expected, `javaScriptEnabled: ${javaScriptEnabled}`);
    } finally {
      await ctx.close();
    }
  }
});

test('findSetupUrl rewrites the first setup URL to the test origin', () => {
  const logs = [
    '\x1b[32mINFO\x1b[0m berth: listening on 127.0.0.1:40000',
    'INFO berth: open http://localhost:3000/setup?token=abc_DEF-123. to create the first admin',
    'INFO berth: later https://example.com/setup?token=zzz',
  ].join('\n');
  assert.equal(
    findSetupUrl(logs, 'http://127.0.0.1:40000'),
    'http://127.0.0.1:40000/setup?token=abc_DEF-123',
  );
  assert.equal(findSetupUrl('nothing here', 'http://127.0.0.1:1'), null);
});

test('freePort returns a usable port', async () => {
  const port = await freePort();
  assert.ok(Number.isInteger(port) && port > 0 && port < 65536);
});

// A stand-in for the berth binary (a node script) so startBerth/stop/setupUrl and
// createAdminViaCli are exercised without building Berth.
const FAKE_BERTH = `#!/usr/bin/env node
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const [cmd, sub, ...rest] = process.argv.slice(2);
const dir = process.env.BERTH_DATA_DIR;
if (cmd === 'serve') {
  const [host, port] = process.env.BERTH_LISTEN.split(':');
  http.createServer((req, res) => {
    res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'application/json' });
    res.end('{"database":"ok"}');
  }).listen(Number(port), host, () => {
    console.log('INFO listening; finish setup at http://localhost:3000/setup?token=t0k3n');
  });
  process.on('SIGTERM', () => { fs.writeFileSync(path.join(dir, 'stopped'), 'yes'); process.exit(0); });
} else if (cmd === 'admin' && sub === 'create') {
  let pw = '';
  process.stdin.on('data', (d) => { pw += d; });
  process.stdin.on('end', () => {
    fs.writeFileSync(path.join(dir, 'admin'), JSON.stringify({ args: rest, pw }));
    console.log('created');
  });
} else {
  process.exit(2);
}
`;

test('startBerth / stop / setupUrl / createAdminViaCli against a fake berth', async () => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'berth-fake-'));
  const saved = process.env.BERTH_BIN;
  try {
    const bin = path.join(tmp, 'berth');
    await writeFile(bin, FAKE_BERTH);
    await chmod(bin, 0o755);
    process.env.BERTH_BIN = bin;

    const berth = await startBerth();
    assert.match(berth.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await fetch(`${berth.url}/healthz`)).status, 200);
    await berth.waitForLog('setup?token=');
    assert.equal(berth.setupUrl(), `${berth.url}/setup?token=t0k3n`);
    assert.match(berth.logs(), /listening/);

    const out = await createAdminViaCli(berth.dataDir, 'alice', 's3cret pass');
    assert.equal(out.stdout.trim(), 'created');
    const admin = JSON.parse(await readFile(path.join(berth.dataDir, 'admin'), 'utf8'));
    assert.deepEqual(admin, {
      args: ['--username', 'alice', '--role', 'admin', '--password-stdin'],
      pw: 's3cret pass\n',
    });

    await berth.stop({ keepData: true });
    assert.equal(await readFile(path.join(berth.dataDir, 'stopped'), 'utf8'), 'yes');
    await berth.stop();
    assert.equal(existsSync(berth.dataDir), false);
  } finally {
    if (saved === undefined) delete process.env.BERTH_BIN;
    else process.env.BERTH_BIN = saved;
    await rm(tmp, { recursive: true, force: true });
  }
});

test('startBerth reports an early exit with the output', async () => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'berth-fake-'));
  const saved = process.env.BERTH_BIN;
  try {
    const bin = path.join(tmp, 'berth');
    await writeFile(bin, '#!/bin/sh\necho "boom: bad config" >&2\nexit 3\n');
    await chmod(bin, 0o755);
    process.env.BERTH_BIN = bin;
    await assert.rejects(startBerth(), /exited early \(code 3[\s\S]*boom: bad config/);
  } finally {
    if (saved === undefined) delete process.env.BERTH_BIN;
    else process.env.BERTH_BIN = saved;
    await rm(tmp, { recursive: true, force: true });
  }
});
