/**
 * Restoring contents pack by pack: bytes land where each file wants them,
 * shared blobs are read once, batching and the open-file bound hold, and a
 * damaged blob fails only the files that need it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MemoryStorage } from '../storage/memory.ts';
import { Repository } from './repository.ts';
import { RepoWriter } from './repo-writer.ts';
import { InlineSealer } from './sealer.ts';
import { BlobType } from './blob.ts';
import { blobId } from '../crypto/tenant-keys.ts';
import { PackRestore, type NeededBlob } from './pack-restore.ts';
import { inlinePlacer, placeBlobs, type BlobPlacer, type PlaceTask } from './place-blobs.ts';

let dir: string;
let storage: MemoryStorage;
let repo: Repository;
const chunks: { id: Uint8Array; data: Buffer }[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-pack-restore-'));
  storage = new MemoryStorage();
  repo = await Repository.init(storage, 'pw', { kdfMemoryMiB: 1 });
  const writer = new RepoWriter(repo, new InlineSealer());
  for (let i = 0; i < 40; i++) {
    const data = randomBytes(1000 + i * 997);
    const id = blobId(repo.keys.idKey, data);
    chunks.push({ id, data });
    await writer.addBlob(BlobType.Data, id, new Uint8Array(data));
  }
  await writer.flush();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Files made of chunks: file k takes chunks k, k+1, k+2 (so neighbours share two). */
const plan = (files: number) => Array.from({ length: files }, (_, k) => [k % 40, (k + 1) % 40, (k + 2) % 40]);
const needed = (parts: number[]): NeededBlob[] => parts.map((i) => ({ id: chunks[i]!.id, loc: repo.locate(chunks[i]!.id) }));
const expected = (parts: number[]) => Buffer.concat(parts.map((i) => chunks[i]!.data));

/** Counts what the placer was asked to do. */
class CountingPlacer implements BlobPlacer {
  tasks = 0;
  blobs = 0;
  inner: BlobPlacer = inlinePlacer;
  async place(task: PlaceTask) {
    this.tasks++;
    this.blobs += task.blobs.length;
    return this.inner.place(task);
  }
}

async function restoreAll(placer: BlobPlacer, files: number[][], limits = {}) {
  const pr = new PackRestore(repo, placer, limits);
  const errors: (Error | undefined)[] = [];
  let open = 0;
  let maxOpen = 0;
  const sub = mkdtempSync(join(dir, 'run-'));
  for (const [k, parts] of files.entries()) {
    const opener = () => {
      open++;
      maxOpen = Math.max(maxOpen, open);
      return openSync(join(sub, `f${k}`), 'w');
    };
    await pr.add(opener, needed(parts), (fd, err) => {
      errors[k] = err;
      if (fd !== undefined) closeSync(fd);
      open--;
    });
  }
  await pr.finish();
  return { sub, errors, maxOpen };
}

describe('PackRestore', () => {
  it('writes every file byte-identically and opens each shared blob once per batch', async () => {
    const placer = new CountingPlacer();
    const files = plan(30);
    const { sub, errors } = await restoreAll(placer, files);
    expect(placer.tasks).toBe(1); // one pack, read in one range
    for (const [k, parts] of files.entries()) expect(readFileSync(join(sub, `f${k}`)).equals(expected(parts))).toBe(true);
    expect(errors.every((e) => e === undefined)).toBe(true);
    expect(placer.blobs).toBe(32); // 30 files x 3 chunks, but only chunks 0..31 exist among them, one batch
  });

  it('opens only files being written, in small batches and ranges, with the same bytes', async () => {
    const placer = new CountingPlacer();
    const files = plan(50);
    const { sub, errors, maxOpen } = await restoreAll(placer, files, { batchFiles: 4, maxUnfinished: 6, rangeBytes: 8000, gapBytes: 0, maxReads: 2 });
    expect(maxOpen).toBeLessThanOrEqual(6);
    expect(placer.tasks).toBeGreaterThan(10);
    for (const [k, parts] of files.entries()) expect(readFileSync(join(sub, `f${k}`)).equals(expected(parts))).toBe(true);
    expect(errors.every((e) => e === undefined)).toBe(true);
  });

  it('fails only the files that need a damaged blob, and says which pack', async () => {
    const bad = chunks[5]!.id;
    const damaging: BlobPlacer = {
      place: async (task) => {
        const blobs = task.blobs.map((b) => ({ ...b }));
        const sealed = new Uint8Array(task.sealed);
        for (const b of blobs) if (Buffer.from(b.id).equals(Buffer.from(bad))) sealed[b.at + 20]! ^= 0xff;
        return placeBlobs({ ...task, sealed, blobs });
      },
    };
    const files = plan(10);
    const { errors } = await restoreAll(damaging, files);
    const failed = errors.map((e, k) => (e ? k : -1)).filter((k) => k >= 0);
    expect(failed).toEqual([3, 4, 5]); // the files that contain chunk 5
    expect(errors[3]!.message).toMatch(/pack data\/[0-9a-f]{2}\/[0-9a-f]{64}: blob failed authentication/);
  });

  it('reports a storage failure on every file of the range, and still finishes', async () => {
    const real = storage.load.bind(storage);
    storage.load = async () => {
      throw Object.assign(new Error('disk on fire'), { code: 'EIO' });
    };
    try {
      const { errors } = await restoreAll(inlinePlacer, plan(3));
      expect(errors.map((e) => e?.message.includes('disk on fire'))).toEqual([true, true, true]);
    } finally {
      storage.load = real;
    }
  });
});
