// Writes <file>.br (brotli, best) and <file>.gz (gzip -9) beside each compressible file of
// the built site (wasm, js, css, svg) so Berth sends them compressed without compressing
// per request. A file whose compressed form is not smaller gets none; a file whose compressed
// forms are already newer than it is left alone (no write, so nothing downstream rebuilds). Usage:
//   node scripts/precompress.mjs target/site
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const root = process.argv[2];
if (!root) {
  console.error('usage: node scripts/precompress.mjs <site dir>');
  process.exit(2);
}

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else yield p;
  }
}

let before = 0;
let after = 0;
for (const p of files(root)) {
  if (p.endsWith('.br') || p.endsWith('.gz')) continue;
  if (!/\.(wasm|js|css|svg|json|html)$/.test(p)) continue;
  const mtime = statSync(p).mtimeMs;
  const fresh = (q) => existsSync(q) && statSync(q).mtimeMs >= mtime;
  if (fresh(`${p}.br`) && fresh(`${p}.gz`)) continue;
  const data = readFileSync(p);
  const br = brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
  const gz = gzipSync(data, { level: 9 });
  for (const [ext, out] of [['br', br], ['gz', gz]]) {
    if (out.length < data.length) writeFileSync(`${p}.${ext}`, out);
    else rmSync(`${p}.${ext}`, { force: true });
  }
  before += data.length;
  after += Math.min(br.length, data.length);
  console.log(`${p}: ${data.length} bytes, br ${br.length}, gzip ${gz.length}`);
}
console.log(`precompressed: ${before} bytes → ${after} bytes with brotli`);
