/**
 * The content work of a first backup, primitive by primitive: what Ferry's
 * format requires for every byte of a corpus (FastCDC chunking, HMAC-SHA256
 * blob IDs, zstd, AES-256-GCM, SHA-256 pack IDs) plus reading it from the
 * page cache and writing the sealed bytes out as 16 MiB pack files
 * (bench/lib/content-round.ts). Two measurements:
 * - on one core, step by step: their sum, divided by the cores, is what the
 *   work would take if it spread over every core without slowing down;
 * - on every core at once, one worker thread per core, each given an equal
 *   share of the bytes (identical files kept together, so each is
 *   compressed once, as in a backup): the wall time this machine really
 *   takes, with the cores sharing caches and memory bandwidth.
 * - through Ferry's native content engine (bench/lib/native-round.ts), the
 *   way a backup runs it, less walking, messages, trees and catalog.
 * The larger of the first two, or the third if it is lower, is the least
 * time a first backup can take here with this format, however well the
 * rest is overlapped.
 *
 *   node bench/content-bound.bench.ts [--corpus DIR] [--rounds R] [--no-write]
 *
 * DIR defaults to the mixed corpus the comparison harness generates
 * (/var/tmp/ferry-bench/corpus/mixed; run bench/compare.bench.ts once first).
 * Duplicate chunks are identified but not compressed or encrypted again,
 * as in a backup. Writes the section "## Content work of a first backup".
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_ZSTD_LEVEL } from '../services/repo/compression.ts';
import { contentRound, STEPS, type RoundResult, type Step } from './lib/content-round.ts';
import { nativeRound } from './lib/native-round.ts';
import { fmt, machine, machineLines, median, writeSection } from './lib/report.ts';

const { values: args } = parseArgs({
  options: { corpus: { type: 'string', default: '/var/tmp/ferry-bench/corpus/mixed' }, rounds: { type: 'string', default: '3' }, 'no-write': { type: 'boolean', default: false } },
});
const rounds = Number(args.rounds);
// Next to the corpus: on the filesystem a repository would be on, which /tmp may not be.
const outParent = dirname(resolve(args.corpus));

const files: string[] = [];
(function walk(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.isFile()) files.push(p);
  }
})(args.corpus);

/**
 * Splits the files into `n` shares of about equal bytes. Identical files go
 * to the same share, so each thread's own deduplication stores them once,
 * as one backup would.
 */
function shares(n: number): string[][] {
  const groups = new Map<string, { files: string[]; bytes: number }>();
  for (const f of files) {
    const data = readFileSync(f);
    const k = createHash('sha256').update(data).digest('hex');
    const g = groups.get(k) ?? { files: [], bytes: 0 };
    g.files.push(f);
    g.bytes = data.length; // one copy is what gets compressed
    groups.set(k, g);
  }
  const out = Array.from({ length: n }, () => ({ files: [] as string[], bytes: 0 }));
  for (const g of [...groups.values()].sort((a, b) => b.bytes - a.bytes)) {
    const least = out.reduce((a, b) => (b.bytes < a.bytes ? b : a));
    least.files.push(...g.files);
    least.bytes += g.bytes;
  }
  return out.map((s) => s.files);
}

/** Runs one round on `n` worker threads at once; wall seconds from the start signal to the last report. */
async function parallelRound(split: string[][]): Promise<{ wall: number; results: RoundResult[] }> {
  const workers = split.map((share) => new Worker(new URL('./lib/content-round-worker.ts', import.meta.url), { workerData: { files: share, outParent } }));
  try {
    await Promise.all(workers.map((w) => new Promise((r, j) => w.once('message', r).once('error', j))));
    const t = performance.now();
    const results = await Promise.all(
      workers.map((w) => {
        const done = new Promise<RoundResult>((r, j) => w.once('message', r).once('error', j));
        w.postMessage('go');
        return done;
      }),
    );
    return { wall: (performance.now() - t) / 1000, results };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

const m = machine();
const results = Array.from({ length: rounds }, (_, i) => {
  const r = contentRound(files, outParent, { fsync: true });
  console.error(`round ${i + 1}: ${STEPS.map((s) => `${s} ${r.secs[s].toFixed(2)} s`).join(', ')}`);
  return r;
});
const cores = os.availableParallelism();
const split = shares(cores);
const parallel: { wall: number; results: RoundResult[] }[] = [];
for (let i = 0; i < rounds; i++) {
  const p = await parallelRound(split);
  const busy = p.results.map((r) => STEPS.reduce((n, st) => n + r.secs[st], 0).toFixed(2));
  console.error(`round ${i + 1} on ${cores} threads: ${p.wall.toFixed(2)} s wall; each thread's steps took ${busy.join(' and ')} s`);
  parallel.push(p);
}
const native: { wall: number; stored: number }[] = [];
for (let i = 0; i < rounds; i++) {
  const r = await nativeRound(files, outParent);
  console.error(`round ${i + 1} through the native engine: ${r.wall.toFixed(2)} s wall`);
  native.push(r);
}
const nativeWall = median(native.map((r) => r.wall));
const bytes = results[0]!.bytes;
const stored = results[0]!.stored;
const parallelStored = parallel[0]!.results.reduce((n, r) => n + r.stored, 0);
const wall = median(parallel.map((p) => p.wall));
const med = (s: Step) => median(results.map((r) => r.secs[s]));
const total = STEPS.reduce((sum, s) => sum + med(s), 0);
const floor = Math.min(Math.max(total / cores, wall), nativeWall);
const MiB = 1024 * 1024;
const body = [
  `\`node bench/content-bound.bench.ts\` on ${fmt(files.length)} files, ${fmt(bytes / MiB)} MiB (${args.corpus}); ${fmt(stored / MiB)} MiB stored after deduplication and zstd level ${DEFAULT_ZSTD_LEVEL}. Medians of ${rounds} rounds.`,
  '',
  ...machineLines(m, os.loadavg()[0]!),
  '',
  'On one core, step by step:',
  '',
  '| Step | CPU seconds | MiB/s of its input |',
  '|---|---:|---:|',
  ...STEPS.map((s) => `| ${s} | ${fmt(med(s), 2)} | ${fmt((s === 'encrypt' || s === 'pack hash' || s === 'write' ? stored : bytes) / MiB / med(s))} |`),
  `| **sum** | **${fmt(total, 2)}** | |`,
  '',
  `Spread over ${cores} cores without slowing down, this would take ${fmt(total / cores, 2)} s. ` +
    `On ${cores} threads at once, each given half the bytes (identical files together; ${fmt(parallelStored / MiB)} MiB stored), ` +
    `the same work took **${fmt(wall, 2)} s** of wall time (packs written past the page cache, not synced; rounds: ${parallel.map((p) => fmt(p.wall, 2)).join(', ')} s), ` +
    `${fmt(total / wall, 2)}× the work of one core: the cores share caches and memory bandwidth. ` +
    `Through Ferry's native content engine (services/repo/native-content.ts: read, chunk, ID, hash and seal on libuv's thread pool, ` +
    `one task more than the cores in flight, while the main thread hashes 16 MiB packs and writes them as a backup does, past the page cache and fsynced; bench/lib/native-round.ts), ` +
    `the same work took **${fmt(nativeWall, 2)} s** (rounds: ${native.map((r) => fmt(r.wall, 2)).join(', ')} s; ${fmt(native[0]!.stored / MiB)} MiB stored). ` +
    `So **${fmt(floor, 2)} s** is the floor for a first backup of this corpus in Ferry's format on this machine, before any walking or messaging.`,
];
console.log(body.join('\n'));
if (!args['no-write']) writeSection('## Content work of a first backup', body.join('\n'));
