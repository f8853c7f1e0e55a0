/**
 * The content work of a first backup, primitive by primitive, on one core:
 * what Ferry's format requires for every byte of a corpus (FastCDC chunking,
 * HMAC-SHA256 blob IDs, zstd, AES-256-GCM, SHA-256 pack IDs) plus reading
 * it from the page cache and writing the sealed bytes out as 16 MiB pack
 * files (one writev, fsync and close each; CPU time, so waiting on the disk
 * is not counted). Their sum, halved for this machine's two cores, is the
 * least time a first backup can take here with this format, however well
 * the rest is overlapped.
 *
 *   node bench/content-bound.bench.ts [--corpus DIR] [--rounds R] [--no-write]
 *
 * DIR defaults to the mixed corpus the comparison harness generates
 * (/var/tmp/ferry-bench/corpus/mixed; run bench/compare.bench.ts once first).
 * Duplicate chunks are identified but not compressed or encrypted again,
 * as in a backup. Writes the section "## Content work of a first backup".
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writevSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chunkLengths, gearTable, DEFAULT_CHUNKER_PARAMS } from '../services/repo/chunker.ts';
import { blobId } from '../services/crypto/tenant-keys.ts';
import { compress, DEFAULT_ZSTD_LEVEL } from '../services/repo/compression.ts';
import { seal } from '../services/crypto/aead.ts';
import { fmt, machine, machineLines, median, writeSection } from './lib/report.ts';

const { values: args } = parseArgs({
  options: { corpus: { type: 'string', default: '/var/tmp/ferry-bench/corpus/mixed' }, rounds: { type: 'string', default: '3' }, 'no-write': { type: 'boolean', default: false } },
});
const rounds = Number(args.rounds);

const files: string[] = [];
(function walk(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.isFile()) files.push(p);
  }
})(args.corpus);

const STEPS = ['read', 'chunk', 'id', 'compress', 'encrypt', 'pack hash', 'write'] as const;

/** Sealed bytes per pack file, as a repository's default pack size. */
const PACK_BYTES = 16 * 1024 * 1024;

/** CPU seconds (user and system) that `f` takes: writes wait on the disk, which is not work a core does. */
function cpuSeconds(f: () => void): number {
  const before = process.cpuUsage();
  f();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}
type Step = (typeof STEPS)[number];

function round(): { secs: Record<Step, number>; bytes: number; stored: number } {
  const gear = gearTable(randomBytes(32));
  const idKey = randomBytes(32);
  const key = randomBytes(32);
  const aad = new Uint8Array(33);
  const seen = new Set<string>();
  const secs = Object.fromEntries(STEPS.map((s) => [s, 0])) as Record<Step, number>;
  let bytes = 0;
  let stored = 0;
  const time = <T>(step: Step, f: () => T): T => {
    const t = performance.now();
    const r = f();
    secs[step] += (performance.now() - t) / 1000;
    return r;
  };
  // Next to the corpus: on the filesystem a repository would be on, which /tmp may not be.
  const out = mkdtempSync(join(dirname(resolve(args.corpus)), '.content-bound-'));
  let pack: Uint8Array[] = [];
  let packBytes = 0;
  let packs = 0;
  const flush = (): void => {
    if (packBytes === 0) return;
    secs.write += cpuSeconds(() => {
      const fd = openSync(join(out, `pack-${packs++}`), 'wx', 0o600);
      writevSync(fd, pack);
      fsyncSync(fd);
      closeSync(fd);
    });
    pack = [];
    packBytes = 0;
  };
  for (const path of files) {
    const data = time('read', () => readFileSync(path));
    bytes += data.length;
    const lengths = data.length <= DEFAULT_CHUNKER_PARAMS.minSize ? [data.length] : time('chunk', () => chunkLengths(data, gear));
    let at = 0;
    for (const n of lengths) {
      const chunk = data.subarray(at, at + n);
      at += n;
      if (n === 0) continue;
      const id = time('id', () => blobId(idKey, chunk));
      const k = Buffer.from(id).toString('latin1');
      if (seen.has(k)) continue;
      seen.add(k);
      const packed = time('compress', () => compress(chunk, DEFAULT_ZSTD_LEVEL).data);
      const sealed = time('encrypt', () => seal(key, packed, aad));
      time('pack hash', () => createHash('sha256').update(sealed).digest());
      stored += sealed.length;
      pack.push(sealed);
      packBytes += sealed.length;
      if (packBytes >= PACK_BYTES) flush();
    }
  }
  flush();
  rmSync(out, { recursive: true, force: true });
  return { secs, bytes, stored };
}

const m = machine();
const results = Array.from({ length: rounds }, (_, i) => {
  const r = round();
  console.error(`round ${i + 1}: ${STEPS.map((s) => `${s} ${r.secs[s].toFixed(2)} s`).join(', ')}`);
  return r;
});
const bytes = results[0]!.bytes;
const stored = results[0]!.stored;
const med = (s: Step) => median(results.map((r) => r.secs[s]));
const total = STEPS.reduce((sum, s) => sum + med(s), 0);
const cores = os.availableParallelism();
const MiB = 1024 * 1024;
const body = [
  `\`node bench/content-bound.bench.ts\` on ${fmt(files.length)} files, ${fmt(bytes / MiB)} MiB (${args.corpus}); ${fmt(stored / MiB)} MiB stored after deduplication and zstd level ${DEFAULT_ZSTD_LEVEL}. One core; medians of ${rounds} rounds.`,
  '',
  ...machineLines(m, os.loadavg()[0]!),
  '',
  '| Step | CPU seconds | MiB/s of its input |',
  '|---|---:|---:|',
  ...STEPS.map((s) => `| ${s} | ${fmt(med(s), 2)} | ${fmt((s === 'encrypt' || s === 'pack hash' || s === 'write' ? stored : bytes) / MiB / med(s))} |`),
  `| **sum** | **${fmt(total, 2)}** | |`,
  '',
  `Spread perfectly over ${cores} cores, this work takes at least **${fmt(total / cores, 2)} s**: the floor for a first backup of this corpus in Ferry's format on this machine, before any walking or messaging.`,
];
console.log(body.join('\n'));
if (!args['no-write']) writeSection('## Content work of a first backup', body.join('\n'));
