/**
 * Catalog size and latency benchmark on the synthetic tree.
 *
 *   node services/catalog/catalog-size.bench.ts [entries] [--dir DIR] [--keep]
 *
 * entries defaults to 1,000,000 (10,000,000 takes ~1 minute and ~0.5 GB of
 * disk). Builds one snapshot into a fresh catalog (applySnapshot compacts
 * after it), then prints bytes per node, where they go, build time and
 * lookup / pathOf latency percentiles over 10,000 random files.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Catalog } from './index.ts';
import { syntheticTree, withPathSample } from './synthetic-tree.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { dir: { type: 'string' }, keep: { type: 'boolean' } } });
const entries = Number((positionals[0] ?? '1000000').replaceAll('_', ''));
if (!Number.isSafeInteger(entries) || entries < 2) throw new Error(`entries must be an integer >= 2, got ${positionals[0]}`);

const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'ferry-catalog-bench-'));
const file = join(dir, 'catalog.sqlite');
rmSync(file, { force: true });

function percentiles(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): string => ((s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN) * 1000).toFixed(1);
  return `p50 ${at(0.5)} µs, p90 ${at(0.9)} µs, p99 ${at(0.99)} µs, max ${at(1)} µs`;
}

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
  try {
    const rows = db.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC').all() as { name: string; bytes: number }[];
    console.log(`bytes per node by b-tree: ${rows.map((r) => `${r.name} ${(r.bytes / st.nodes).toFixed(2)}`).join(', ')}`);
  } finally {
    db.close();
  }
} finally {
  cat.close();
  if (!values.keep && !values.dir) rmSync(dir, { recursive: true, force: true });
}
