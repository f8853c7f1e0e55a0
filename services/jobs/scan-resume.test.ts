/** Resuming a scan after any published batch yields exactly the rest of the walk. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStorage } from '../storage/memory.ts';
import { Repository } from '../repo/repository.ts';
import { buildSelection } from '../repo/selection.ts';
import { walkSource, walkSourceInArrays } from './scan-walker.ts';
import { batchEvents } from './batcher.ts';
import { comparePositions, decodeEvents, encodeEvents, EXIT, type ScanEvent } from './scan-events.ts';
import { TreeAssembler, decodeAssemblyEvents } from './tree-assembler.ts';
import { RepoWriter } from '../repo/repo-writer.ts';
import { InlineSealer } from '../repo/sealer.ts';

const summary = (e: ScanEvent) => (e.t === 'e' ? 'e' : e.t === 'x' ? `x:${e.path}` : e.t === 'k' ? `k:${e.first}+${e.count}` : `${e.t}:${e.node.name}`);

describe('scan batches and resume', () => {
  let dir: string;
  let repo: Repository;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-scan-'));
    for (let d = 0; d < 6; d++) {
      await mkdir(join(dir, `d${d}`, 'sub'), { recursive: true });
      for (let f = 0; f < 7; f++) await writeFile(join(dir, `d${d}`, f % 2 ? 'sub' : '', `f${f}.txt`), `file ${d}/${f}`);
    }
    repo = await Repository.init(new MemoryStorage(), 'pw', { kdfMemoryMiB: 1 });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('orders positions depth-first with exits after children', () => {
    expect(comparePositions(['a'], ['a', 'b'])).toBeLessThan(0);
    expect(comparePositions(['a', 'b'], ['a', EXIT])).toBeLessThan(0);
    expect(comparePositions(['a', EXIT], ['b'])).toBeLessThan(0);
    expect(comparePositions(['a', EXIT], ['a', EXIT])).toBe(0);
  });

  it('round-trips events through their encoding', async () => {
    const items = [];
    for await (const i of walkSource({ repo, selection: buildSelection([dir]) })) items.push(i.event);
    expect(decodeEvents(encodeEvents(items), 't').map(summary)).toEqual(items.map(summary));
  });

  it('gives the same event stream when resumed after any batch', async () => {
    const limits = { maxFiles: 5, maxEncodedBytes: 1 << 20, maxUploadBytes: 1 << 30 };
    const batches = [];
    for await (const b of batchEvents(walkSourceInArrays({ repo, selection: buildSelection([dir]) }), { firstSeq: 0, startPos: [], limits })) batches.push(b);
    expect(batches.length).toBeGreaterThan(5);
    const all = batches.flatMap((b) => decodeEvents(b.events, 'b').map(summary));
    for (let k = 0; k < batches.length - 1; k++) {
      const head = batches.slice(0, k + 1).flatMap((b) => decodeEvents(b.events, 'b').map(summary));
      const rest = [];
      const resumed = batchEvents(walkSourceInArrays({ repo, selection: buildSelection([dir]), after: batches[k]!.endPos }), { firstSeq: k + 1, startPos: batches[k]!.endPos, limits });
      for await (const b of resumed) {
        expect(b.startPos).toEqual(k + 1 === b.seq ? batches[k]!.endPos : b.startPos);
        rest.push(...decodeEvents(b.events, 'b').map(summary));
      }
      expect([...head, ...rest]).toEqual(all);
    }
  });

  it('refuses an inconsistent stream instead of writing a bad tree', async () => {
    const a = new TreeAssembler(repo, new RepoWriter(repo, new InlineSealer()));
    const node = (name: string, type: 'f' | 'd') => ({ name, type, mode: 0o644, uid: 0, gid: 0, size: 0, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, inode: 1n, device: 1n, nlink: 1, content: type === 'f' ? [] : undefined });
    const file = (name: string): ScanEvent => ({ t: 'f', node: node(name, 'f') });
    const [enter, first, again] = decodeAssemblyEvents(encodeEvents([{ t: 'd', node: node('', 'd') }, file('b'), file('b'), { t: 'e' }]), 'test events');
    await a.push(enter!);
    await a.push(first!);
    await expect(a.push(again!)).rejects.toMatchObject({ code: 'jobs.inconsistent-scan' });
  });
});
