/** RepoWriter's leases: file content sealed elsewhere with a pack's key, added and saved in that pack. */
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { MemoryStorage } from '../storage/memory.ts';
import { Repository } from './repository.ts';
import { RepoWriter } from './repo-writer.ts';
import type { PackLease } from './pack-lease.ts';
import { InlineSealer } from './sealer.ts';
import { BlobType, sealBlob } from './blob.ts';
import { blobId } from '../crypto/tenant-keys.ts';
import { Prefix } from './layout.ts';
import { checkRepository } from './check.ts';

const PW = 'pw';
const PACK = 1024 * 1024;

async function fresh() {
  const storage = new MemoryStorage();
  const repo = await Repository.init(storage, PW, { kdfMemoryMiB: 1, packSize: PACK });
  return { storage, repo, writer: new RepoWriter(repo, new InlineSealer()) };
}

/** Seals `data` as a scan on a worker would, under `lease`, and adds it. */
function add(writer: RepoWriter, repo: Repository, lease: PackLease, data: Uint8Array): { id: Uint8Array; added: boolean } {
  const id = blobId(repo.keys.idKey, data);
  const sealed = sealBlob(lease.seal.key, id, BlobType.Data, data, lease.seal.level);
  return { id, added: writer.addSealed(lease, id, sealed, data.length) };
}

async function packCount(storage: MemoryStorage): Promise<number> {
  let n = 0;
  for await (const _ of storage.list(Prefix.data)) n++;
  return n;
}

describe('RepoWriter leases', () => {
  it('adds what was sealed under a lease to that pack, skips duplicates, and reads it all back', async () => {
    const { storage, repo, writer } = await fresh();
    const blobs = Array.from({ length: 30 }, (_, i) => (i % 3 ? randomBytes(90_000) : new Uint8Array(90_000).fill(i)));
    const ids: Uint8Array[] = [];
    for (let at = 0; at < blobs.length; at += 5) {
      const lease = await writer.lease(5 * 90_000);
      for (const b of blobs.slice(at, at + 5)) {
        const r = add(writer, repo, lease, b);
        expect(r.added).toBe(true);
        ids.push(r.id);
      }
      expect(add(writer, repo, lease, blobs[0]!).added).toBe(false);
      writer.release(lease);
      writer.release(lease); // safe twice
    }
    await writer.flush();
    expect(writer.stats.newBlobs).toBe(30);
    expect(writer.stats.packs).toBeGreaterThan(1);

    const again = await Repository.open(storage, PW);
    await again.loadIndex();
    for (const [i, id] of ids.entries()) expect(Buffer.from(await again.readBlob(id, BlobType.Data)).equals(blobs[i]!)).toBe(true);
    expect((await checkRepository(again, { readData: true })).problems).toEqual([]);
  });

  it('saves no pack while a lease on it is out, and flush waits for the lease', async () => {
    const { storage, repo, writer } = await fresh();
    const held = await writer.lease(100);
    add(writer, repo, held, randomBytes(100));
    // Enough content under other leases to fill the held lease's pack and more.
    for (let i = 0; i < 4; i++) {
      const l = await writer.lease(PACK / 2);
      add(writer, repo, l, randomBytes(PACK / 2));
      writer.release(l);
    }
    let flushed = false;
    const flush = writer.flush().then(() => (flushed = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(flushed).toBe(false);
    const savedBefore = writer.stats.packs;
    writer.release(held);
    await flush;
    expect(writer.stats.packs).toBe(savedBefore + 1);
    expect(await packCount(storage)).toBe(writer.stats.packs);
    const again = await Repository.open(storage, PW);
    await again.loadIndex();
    expect((await checkRepository(again, { readData: true })).problems).toEqual([]);
  });

  it('flush waits for the packs it closed, not for leases taken on a newer pack after it started', async () => {
    const { storage, repo, writer } = await fresh();
    const first = await writer.lease(1000);
    const { id } = add(writer, repo, first, randomBytes(1000));
    writer.release(first);
    const flush = writer.flush();
    const later = await writer.lease(1000); // another lane's lease, on the pack opened after the flush began
    add(writer, repo, later, randomBytes(1000));
    const outcome = await Promise.race([flush.then(() => 'flushed'), new Promise((r) => setTimeout(() => r('still waiting'), 2000))]);
    expect(outcome).toBe('flushed');
    const again = await Repository.open(storage, PW);
    await again.loadIndex();
    expect(again.index.has(id)).toBe(true);
    writer.release(later);
    await writer.flush();
    expect(writer.stats.packs).toBe(2);
  });

  it('flush waits for an index file that another flush is still writing with its packs in it', async () => {
    let open: () => void = () => {};
    const gate = new Promise<void>((r) => (open = r));
    let indexSaves = 0;
    class GatedStorage extends MemoryStorage {
      override async save(name: string, data: Uint8Array): Promise<void> {
        if (name.startsWith(Prefix.index) && indexSaves++ === 0) await gate;
        return super.save(name, data);
      }
    }
    const repo = await Repository.init(new GatedStorage(), PW, { kdfMemoryMiB: 1, packSize: PACK });
    const writer = new RepoWriter(repo, new InlineSealer());
    const lease = await writer.lease(1000);
    add(writer, repo, lease, randomBytes(1000));
    writer.release(lease);
    let firstDone = false;
    let secondDone = false;
    const first = writer.flush().then(() => (firstDone = true));
    while (indexSaves === 0) await new Promise((r) => setTimeout(r, 1));
    // The pack is saved and its index file is being written: a second flush has no pack of its own to wait for.
    const second = writer.flush().then(() => (secondDone = true));
    await new Promise((r) => setTimeout(r, 50));
    expect([firstDone, secondDone]).toEqual([false, false]);
    open();
    await Promise.all([first, second]);
    expect(indexSaves).toBe(1);
  });

  it('moves to a new pack once one is full, even when the leases expected less', async () => {
    const { repo, writer } = await fresh();
    // Leases that add nothing teach the writer to expect little of the next ones.
    for (let i = 0; i < 8; i++) writer.release(await writer.lease(PACK));
    const first = await writer.lease(PACK);
    add(writer, repo, first, randomBytes(PACK + 1000)); // incompressible: the pack is now full
    const second = await writer.lease(PACK);
    expect(Buffer.from(second.seal.key).equals(Buffer.from(first.seal.key))).toBe(false);
    writer.release(first);
    writer.release(second);
    await writer.flush();
    expect(writer.stats.packs).toBe(1);
  });

  it('refuses a lease of another writer, and adding after release', async () => {
    const { repo, writer } = await fresh();
    const other = new RepoWriter(repo, new InlineSealer());
    const lease = await other.lease(10);
    expect(() => add(writer, repo, lease, randomBytes(10))).toThrow('not a lease of this writer');
    other.release(lease);
    expect(() => add(other, repo, lease, randomBytes(10))).toThrow('already released');
  });
});
