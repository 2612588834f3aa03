// Test harness for Berth's browser tests (node:test + playwright-core + Debian's chromium).
//
//   const berth = await startBerth();          // own data dir, own port, waits for /healthz
//   const ctx = await launchBrowser();         // a chromium BrowserContext
//   const page = await ctx.newPage(); await page.goto(berth.url + '/');
//   ...
//   await ctx.close();                         // also closes the browser
//   await berth.stop();                        // SIGTERM, wait, remove the data dir
//
// BERTH_BIN must point at the release binary (`make test-e2e` sets it).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.BERTH_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Path of the berth binary under test, from $BERTH_BIN. */
export function berthBin() {
  const bin = process.env.BERTH_BIN;
  if (!bin) {
    throw new Error(
      'BERTH_BIN is not set: point it at the release binary (e.g. target/release/berth); `make test-e2e` does',
    );
  }
  return bin;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** Drops terminal colour codes (tracing may colour its output). */
export function stripAnsi(s) {
  return s.replace(ANSI, '');
}

/**
 * The first URL in `logs` that contains `/setup?token=`, rewritten to `origin`
 * (path and query kept), or null when there is none.
 */
export function findSetupUrl(logs, origin) {
  const m = stripAnsi(logs).match(/https?:\/\/[^\s"'<>`]*\/setup\?token=[^\s"'<>`]+/);
  if (!m) return null;
  const found = new URL(m[0].replace(/[.,;:)\]}]+$/, ''));
  return new URL(found.pathname + found.search, origin).toString();
}

// Every berth process started here, killed if the test process exits without stopping them.
const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

function exitPromise(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/**
 * Starts `$BERTH_BIN serve` on a free loopback port with its own temporary data directory.
 *
 * options:
 *   env        extra environment variables (override the defaults below)
 *   args       extra arguments after `serve`
 *   dataDir    use this data directory (e.g. to restart on the data of a stopped instance);
 *              it is then not removed by stop()
 *   timeoutMs  how long to wait for GET /healthz to answer 200 (default 30 s)
 *
 * Returns { url, port, dataDir, logs(), setupUrl(), waitForLog(re), stop(), process }.
 */
export async function startBerth(options = {}) {
  const { env = {}, args = [], timeoutMs = 30_000 } = options;
  const bin = berthBin();
  const ownDataDir = !options.dataDir;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'berth-e2e-')));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;

  let buf = '';
  const child = spawn(bin, ['serve', ...args], {
    env: {
      ...process.env,
      NO_COLOR: '1',
      RUST_LOG: process.env.RUST_LOG ?? 'info',
      BERTH_LISTEN: `127.0.0.1:${port}`,
      BERTH_DATA_DIR: dataDir,
      // The tests' exporters and Prometheus listen on loopback.
      BERTH_METRICS_ALLOW_LOOPBACK: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    buf += d;
  });
  child.stderr.on('data', (d) => {
    buf += d;
  });
  let spawnError = null;
  child.on('error', (e) => {
    spawnError = e;
  });
  const exited = exitPromise(child);
  child.once('exit', () => running.delete(child));

  const logs = () => buf;

  let stopped = false;
  const stop = async ({ keepData = false } = {}) => {
    if (!stopped) {
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
      }
    }
    if (ownDataDir && !keepData) {
      await rm(dataDir, { recursive: true, force: true });
    }
  };

  const fail = async (why) => {
    await stop();
    await sleep(100); // let the last of its output arrive
    throw new Error(`berth ${why}\n--- berth output ---\n${buf}`);
  };

  // Wait for /healthz to answer 200.
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    if (spawnError) await fail(`could not be started (${bin}): ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      await fail(`exited early (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
      last = `HTTP ${res.status}: ${(await res.text()).slice(0, 500)}`;
      if (res.status === 200) break;
    } catch (e) {
      last = e.cause?.code ?? e.message;
    }
    if (Date.now() > deadline) {
      await fail(`did not answer 200 on ${url}/healthz within ${timeoutMs} ms (last: ${last})`);
    }
    await sleep(100);
  }

  const setupUrl = () => {
    const u = findSetupUrl(buf, url);
    if (!u) throw new Error(`no URL containing /setup?token= in berth's output:\n${buf}`);
    return u;
  };

  /** Waits until the output matches `re` (a RegExp or string); returns the match. */
  const waitForLog = async (re, waitMs = 10_000) => {
    const rx = typeof re === 'string' ? new RegExp(re.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : re;
    const until = Date.now() + waitMs;
    for (;;) {
      const m = stripAnsi(buf).match(rx);
      if (m) return m;
      if (Date.now() > until) throw new Error(`berth output never matched ${rx}:\n${buf}`);
      await sleep(50);
    }
  };

  return { url, port, dataDir, logs, setupUrl, waitForLog, stop, process: child };
}

/**
 * Launches Debian's chromium through playwright-core and returns a new BrowserContext.
 * Closing the context also closes the browser. Other playwright context options
 * (viewport, baseURL, …) pass through.
 */
export async function launchBrowser({ javaScriptEnabled = true, ...contextOptions } = {}) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  let context;
  try {
    context = await browser.newContext({ javaScriptEnabled, ...contextOptions });
  } catch (e) {
    await browser.close();
    throw e;
  }
  const closeContext = context.close.bind(context);
  context.close = async (...a) => {
    try {
      await closeContext(...a);
    } finally {
      await browser.close();
    }
  };
  return context;
}

/**
 * Runs `$BERTH_BIN admin create --username U --role admin --password-stdin` on `dataDir`,
 * with the password on stdin. Resolves to { stdout, stderr }; rejects on a non-zero exit.
 * `env` adds environment variables (e.g. BERTH_DATABASE_URL).
 */
export function createAdminViaCli(dataDir, username, password, env = {}) {
  const bin = berthBin();
  return new Promise((resolve, reject) => {
    const child = spawn(
      bin,
      ['admin', 'create', '--username', username, '--role', 'admin', '--password-stdin'],
      {
        env: { ...process.env, NO_COLOR: '1', BERTH_DATA_DIR: dataDir, ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve({ stdout, stderr });
      else {
        reject(
          new Error(
            `berth admin create exited with ${code ?? signal}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`,
          ),
        );
      }
    });
    child.stdin.on('error', () => {
      // the process may exit before reading stdin; its exit code tells what happened
    });
    child.stdin.end(`${password}\n`);
  });
}
