// Prototype: content work of a first backup on ONE isolate, crypto/zstd on the libuv pool.
import { readdirSync, statSync, createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { webcrypto, randomBytes } from 'node:crypto';
import { chunkStream, gearTable, DEFAULT_CHUNKER_PARAMS } from '../services/repo/chunker.ts';
import { QuickXorHash } from '../services/hash/quickxor.ts';
const subtle = webcrypto.subtle;
const zc = promisify(zlib.zstdCompress);
const root = process.argv[2]!; const par = Number(process.argv[3] ?? 8); const doQx = process.argv[4] === 'qx';
const files: { p: string; s: number }[] = [];
(function walk(d: string) { for (const e of readdirSync(d, { withFileTypes: true })) { const p = join(d, e.name); if (e.isDirectory()) walk(p); else if (e.isFile()) files.push({ p, s: statSync(p).size }); } })(root);
const gear = gearTable(new Uint8Array(32));
const hk = await subtle.importKey('raw', randomBytes(32), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
const ak = await subtle.importKey('raw', randomBytes(32), { name: 'AES-GCM' }, false, ['encrypt']);
const seen = new Set<string>(); let stored = 0, chunks = 0; let peak = 0;
const tick = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
let inflight = 0; const waiters: (() => void)[] = [];
async function slot() { while (inflight >= par) await new Promise<void>((r) => waiters.push(r)); inflight++; }
function free() { inflight--; waiters.shift()?.(); }
async function one(c: Uint8Array) {
  const id = Buffer.from(await subtle.sign('HMAC', hk, c)).toString('base64');
  if (seen.has(id)) return; seen.add(id);
  const z = await zc(c, { params: { [zlib.constants.ZSTD_c_compressionLevel]: 3 } });
  const e = await subtle.encrypt({ name: 'AES-GCM', iv: randomBytes(12) }, ak, z);
  stored += e.byteLength; chunks++;
}
const t0 = performance.now(); const c0 = process.cpuUsage();
const pending = new Set<Promise<void>>();
async function src(f: { p: string; s: number }): Promise<AsyncIterable<Uint8Array>> {
  if (f.s <= 8 << 20) { const b = await readFile(f.p); return [b]; }
  return createReadStream(f.p, { highWaterMark: 1 << 20 });
}
for (const f of files) {
  const qx = doQx ? new QuickXorHash() : undefined;
  for await (const c of chunkStream(await src(f), gear, DEFAULT_CHUNKER_PARAMS)) {
    qx?.update(c);
    await slot();
    const p = one(c).finally(() => { free(); pending.delete(p); }); pending.add(p);
  }
}
await Promise.all(pending);
const c1 = process.cpuUsage(c0);
clearInterval(tick);
console.log(`files ${files.length} chunks ${chunks} stored ${(stored / 1048576).toFixed(0)} MiB wall ${((performance.now() - t0) / 1000).toFixed(2)} s cpu ${((c1.user + c1.system) / 1e6).toFixed(2)} s peakRSS ${(peak / 1048576).toFixed(0)} MiB`);
