/**
 * Catalog size and latency benchmark on the synthetic tree.
 *
 *   node services/catalog/catalog-size.bench.ts [entries] [--dir DIR] [--keep] [--write]
 *
 * entries defaults to 1,000,000 (10,000,000 takes ~1 minute and ~0.5 GB of
 * disk). Builds one snapshot into a fresh catalog (applySnapshot compacts
 * after it), then prints bytes per node, where they go, build time and
 * lookup / pathOf latency percentiles over 10,000 random files. With
 * --write it also replaces the "Catalog at scale" section of
 * docs/BENCHMARKS.md.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Catalog } from './index.ts';
import { syntheticTree, withPathSample } from './synthetic-tree.ts';
import { fmt, machine, machineLines, writeSection } from '../../bench/lib/report.ts';
import os from 'node:os';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { dir: { type: 'string' }, keep: { type: 'boolean' }, write: { type: 'boolean' } } });
const entries = Number((positionals[0] ?? '1000000').replaceAll('_', ''));
if (!Number.isSafeInteger(entries) || entries < 2) throw new Error(`entries must be an integer >= 2, got ${positionals[0]}`);

const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'ferry-catalog-bench-'));
const file = join(dir, 'catalog.sqlite');
rmSync(file, { force: true });

function quantile(samples: number[], q: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return (s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN) * 1000;
}

function percentiles(samples: number[]): string {
  const at = (q: number): string => quantile(samples, q).toFixed(1);
  return `p50 ${at(0.5)} µs, p90 ${at(0.9)} µs, p99 ${at(0.99)} µs, max ${at(1)} µs`;
}

const m = machine();

function timed<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const out = fn();
  return [out, performance.now() - t0];
}

const cat = Catalog.open(file);
try {
  const { listings, sample } = withPathSample(syntheticTree({ entries, seed: 1 }), 10_000);
  const t0 = performance.now();
  const result = await cat.applySnapshot({ id: 'be01', time: new Date() }, listings);
  const buildMs = performance.now() - t0;
  const st = cat.stats();
  const onDisk = statSync(file).size;

  const lookups: number[] = [];
  const paths: number[] = [];
  for (const p of sample) {
    const [node, ms] = timed(() => cat.lookup(p));
    if (!node) throw new Error(`lookup missed ${p.join('/')}`);
    lookups.push(ms);
    paths.push(timed(() => cat.pathOf(node.nodeId))[1]);
  }

  console.log(`entries:              ${entries.toLocaleString('en-US')} (${st.files.toLocaleString('en-US')} files, ${st.dirs.toLocaleString('en-US')} dirs)`);
  console.log(`bytes per file:       ${st.bytesPerNode.toFixed(2)} (page_count*page_size ${st.bytes.toLocaleString('en-US')} B; file on disk ${onDisk.toLocaleString('en-US')} B)`);
  console.log(`build:                ${(buildMs / 1000).toFixed(1)} s incl. compaction (${Math.round(result.added / (buildMs / 1000)).toLocaleString('en-US')} nodes/s)`);
  console.log(`lookup(path):         ${percentiles(lookups)}`);
  console.log(`pathOf(nodeId):       ${percentiles(paths)}`);

  const db = new Database(file, { readonly: true });
  let byTree = '';
  try {
    const rows = db.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC').all() as { name: string; bytes: number }[];
    byTree = rows.map((r) => `${r.name} ${(r.bytes / st.nodes).toFixed(2)}`).join(', ');
    console.log(`bytes per node by b-tree: ${byTree}`);
  } finally {
    db.close();
  }
  if (values.write) {
    const perFile = st.bytes / st.files;
    const p50 = quantile(lookups, 0.5);
    const p99 = quantile(lookups, 0.99);
    writeSection('## Catalog at scale', [
      `One snapshot of a synthetic tree of ${fmt(entries)} entries (\`services/catalog/synthetic-tree.ts\`:`,
      'deep directories, realistic names) applied to a fresh catalog, then',
      'compacted. Bytes are SQLite pages in use divided by nodes; lookups',
      'resolve 10,000 random file paths from the root, one name at a time.',
      '',
      ...machineLines(m, os.loadavg()[0] ?? NaN),
      `- Date: ${new Date().toISOString().slice(0, 10)}; command: \`node services/catalog/catalog-size.bench.ts ${entries} --write\``,
      '',
      '| Entries | Files | Bytes per entry (pages / files and dirs) | Bytes per regular file (pages / files) | File on disk | Build (incl. compaction) | lookup(path) p50 / p99 | pathOf(node) p50 |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|',
      `| ${fmt(entries)} | ${fmt(st.files)} | **${st.bytesPerNode.toFixed(2)}** | ${perFile.toFixed(2)} | ${fmt(onDisk / 2 ** 20)} MiB | ${fmt(buildMs / 1000, 1)} s | **${p50.toFixed(0)} µs** / ${p99.toFixed(0)} µs | ${quantile(paths, 0.5).toFixed(0)} µs |`,
      '',
      `Bytes per node by b-tree: ${byTree}.`,
      '',
      'An entry is one row of the node tree, a file or a directory: the unit of',
      "seed 000's ~50 bytes/file estimate. Dividing by regular files only gives",
      'the second column.',
      '',
      `**${st.bytesPerNode.toFixed(2)} bytes per entry (target ≤ 50: ${st.bytesPerNode <= 50 ? 'met' : 'missed'}; ${perFile.toFixed(2)} per regular file); path lookup p50 ${p50.toFixed(0)} µs, p99 ${p99.toFixed(0)} µs (target < 1 ms: ${p99 < 1000 ? 'met' : 'missed'}).**`,
    ].join('\n'));
  }
} finally {
  cat.close();
  if (!values.keep && !values.dir) rmSync(dir, { recursive: true, force: true });
}
