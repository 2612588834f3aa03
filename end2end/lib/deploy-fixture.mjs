// Real components for the deploy browser tests: the demo images (built from this repository
// by scripts/demo-image.sh, FROM scratch), an nginx of its own on a loopback port that Berth
// drives, and the API calls that wire an environment to them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './harness.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let built = false;
/** Builds berth-demo:v1 and :v2 (once per process). Throws when Docker is not there. */
export function demoImages() {
  if (built) return;
  execFileSync('bash', [join(ROOT, 'scripts', 'demo-image.sh'), 'v1', 'v2'], { stdio: 'pipe' });
  built = true;
}

function nginxPath() {
  for (const p of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) {
    if (existsSync(p)) return p;
  }
  throw new Error('nginx is not installed (make test installs it as root on Debian)');
}

/** Starts nginx with its own prefix; `stop()` ends it. */
export async function startNginx() {
  const nginx = nginxPath();
  const dir = mkdtempSync(join(tmpdir(), 'berth-e2e-nginx-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  writeFileSync(join(dir, 'berth.conf'), '');
  const user = process.getuid && process.getuid() === 0 ? 'user root;\n' : '';
  writeFileSync(
    join(dir, 'nginx.conf'),
    `${user}worker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents { worker_connections 512; }\n` +
      `http {\n  access_log off;\n  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;\n` +
      `  fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;\n` +
      `  server { listen 127.0.0.1:${port} default_server; return 421; }\n  include ${dir}/berth.conf;\n}\n`,
  );
  const args = ['-p', dir, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`];
  execFileSync(nginx, args, { stdio: 'pipe' });
  return {
    dir,
    port,
    base: `http://127.0.0.1:${port}`,
    proxy: {
      http_port: port,
      listen_address: '127.0.0.1',
      https_port: null,
      redirect_http: false,
      hsts_max_age: 0,
      manager: {
        mode: 'host',
        config_path: `${dir}/berth.conf`,
        test_command: [nginx, '-t', '-q', ...args],
        reload_command: [nginx, '-s', 'reload', ...args],
        container: '',
      },
    },
    stop() {
      try {
        execFileSync(nginx, [...args, '-s', 'stop'], { stdio: 'pipe' });
      } catch {
        /* already stopped */
      }
    },
  };
}

/** Removes every container and network Berth made for `project`. */
export function removeProjectContainers(project) {
  const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=berth.project=${project}`])
    .toString()
    .split(/\s+/)
    .filter(Boolean);
  if (ids.length) execFileSync('docker', ['rm', '-f', ...ids], { stdio: 'pipe' });
  const nets = execFileSync('docker', ['network', 'ls', '-q', '--filter', `label=berth.project=${project}`])
    .toString()
    .split(/\s+/)
    .filter(Boolean);
  for (const n of nets) execFileSync('docker', ['network', 'rm', n], { stdio: 'pipe' });
}

/**
 * Wires environment `env` of `project` (both must exist) to `nginx` and the demo image:
 * proxy settings, IMAGE_TAG=v1, a `web` service (2 replicas, a `migrate` job) and the seed's
 * four sites with health paths and smoke checks. `api(method, path, body)` calls the REST API.
 */
export async function configureDemoEnvironment(api, project, env, nginx) {
  await api('PATCH', `/projects/${project}/environments/${env}`, { proxy: nginx.proxy });
  await api('PUT', `/projects/${project}/environments/${env}/variables/IMAGE_TAG`, { value: 'v1', secret: false });
  await api('PUT', `/projects/${project}/environments/${env}/services/web`, {
    name: 'web',
    image: 'berth-demo:${IMAGE_TAG}',
    replicas: 2,
    http_port: 8000,
    pre_deploy: [{ name: 'migrate', command: ['migrate'], timeout_secs: 60 }],
  });
  for (const [name, host] of [
    ['main', 'localhost'],
    ['site-a', 'site-a.local'],
    ['site-b', 'site-b.local'],
    ['portal', 'portal.local'],
  ]) {
    await api('PUT', `/projects/${project}/sites/${name}`, {
      name,
      hosts: { [env]: { primary: host, aliases: [] } },
      routes: [{ path: '/', target: { kind: 'service', service: 'web' } }],
      health_path: '/api/health',
      smoke_checks: [{ path: '/api/feed?size=1', assertions: [{ op: 'non_empty', pointer: '.items' }] }],
    });
  }
  await api('PUT', `/projects/${project}/environments/${env}/deploy-settings`, {
    pull_policy: 'if_missing',
    pull_timeout_secs: 5,
    ready_timeout_secs: 20,
    gate_timeout_secs: 15,
    gate_interval_secs: 1,
    drain_secs: 1,
    stop_grace_secs: 5,
    job_timeout_secs: 60,
    keep_releases: 5,
  });
}
