/**
 * The hard size budget: at most 50 bytes per node on disk at 1,000,000
 * synthetic entries, and sub-millisecond path lookups at that size.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Catalog } from './index.ts';
import { syntheticTree, withPathSample } from './synthetic-tree.ts';

const ENTRIES = 1_000_000;

describe('catalog size at 1M entries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-catalog-size-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stays within 50 bytes per file and looks paths up in well under 1 ms', async () => {
    const cat = Catalog.open(join(dir, 'cat.sqlite'));
    try {
      const { listings, sample } = withPathSample(syntheticTree({ entries: ENTRIES, seed: 1 }), 1000);
      const r = await cat.applySnapshot({ id: 'ab01', time: new Date('2025-01-01T00:00:00Z') }, listings);
      expect(r.added).toBe(ENTRIES - 1); // the root exists before any snapshot
      const st = cat.stats();
      expect(st.nodes).toBe(ENTRIES);
      const perFile = st.bytes / st.nodes;
      console.log(`catalog bytes per file at ${ENTRIES} entries: ${perFile.toFixed(2)}`);
      expect(perFile).toBeLessThanOrEqual(50);

      const latencies = sample.map((path) => {
        const t0 = performance.now();
        const node = cat.lookup(path);
        const ms = performance.now() - t0;
        expect(node?.name).toBe(path.at(-1));
        return ms;
      });
      latencies.sort((a, b) => a - b);
      const median = latencies[latencies.length >> 1] as number;
      console.log(`catalog median lookup at ${ENTRIES} entries: ${(median * 1000).toFixed(1)} µs`);
      expect(latencies).toHaveLength(1000);
      expect(median).toBeLessThan(1);
    } finally {
      cat.close();
    }
  });
});
