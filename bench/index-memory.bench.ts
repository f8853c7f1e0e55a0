/**
 * Memory of the in-memory master index (services/repo/master-index.ts) per
 * blob, at 1, 5 and 10 million blobs of random IDs, in packs of 1,000.
 *
 *   node --expose-gc bench/index-memory.bench.ts [--no-write]
 *
 * Reports the index's own typed arrays (ArrayBuffer bytes) and the JS heap
 * after a full collection, divided by the blob count, and writes the table
 * to docs/BENCHMARKS.md, section "## Master index in memory".
 */
import { randomFillSync } from 'node:crypto';
import { parseArgs } from 'node:util';
import { MasterIndex } from '../services/repo/master-index.ts';
import type { PackEntry } from '../services/repo/index-file.ts';
import { PackKind } from '../services/repo/layout.ts';
import { BlobType } from '../services/repo/blob.ts';
import os from 'node:os';
import { fmt, machine, machineLines, writeSection } from './lib/report.ts';

const { values: args } = parseArgs({ options: { 'no-write': { type: 'boolean', default: false } } });
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const PER_PACK = 1000;
const CHECKPOINTS = [1_000_000, 5_000_000, 10_000_000];

function pack(): PackEntry {
  const ids = randomFillSync(new Uint8Array(32 * (PER_PACK + 2)));
  const blobs = Array.from({ length: PER_PACK }, (_, i) => ({ id: ids.subarray(64 + 32 * i, 96 + 32 * i), type: BlobType.Data, offset: i * 4096, length: 4096, rawLength: 8192 }));
  return { id: ids.subarray(0, 32), kind: PackKind.Data, epk: ids.subarray(32, 64), blobs };
}

const usage = () => {
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
};

const m = machine();
const base = usage();
const index = new MasterIndex();
const rows: string[] = [];
const started = Date.now();
for (const target of CHECKPOINTS) {
  while (index.blobCount < target) index.addPack(pack());
  const u = usage();
  const heap = (u.heap - base.heap) / index.blobCount;
  const buffers = (u.buffers - base.buffers) / index.blobCount;
  const line = `| ${fmt(index.blobCount)} | ${fmt(buffers, 1)} | ${fmt(heap, 1)} | ${fmt(buffers + heap, 1)} |`;
  console.error(line);
  rows.push(line);
}
const section = [
  `\`node --expose-gc bench/index-memory.bench.ts\`: random 32-byte blob IDs added in packs of ${fmt(PER_PACK)}; bytes per blob after a full GC, measured at each count (${((Date.now() - started) / 1000).toFixed(0)} s).`,
  '',
  ...machineLines(m, os.loadavg()[0]!),
  '',
  '| Blobs | typed arrays (B/blob) | JS heap (B/blob) | total (B/blob) |',
  '|---:|---:|---:|---:|',
  ...rows,
  '',
  'The columns grow by doubling and the slot table is kept at least twice the blob count, so the figure per blob moves between about 60 and 105 bytes depending on where the count falls between two doublings.',
  '',
];
console.log(section.join('\n'));
if (!args['no-write']) writeSection('## Master index in memory', section.join('\n'));
