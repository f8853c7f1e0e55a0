/** The repository engine in-process, over memory storage. */
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { MemoryStorage } from '../storage/memory.ts';
import { Repository } from './repository.ts';
import { RepoWriter } from './repo-writer.ts';
import { InlineSealer } from './sealer.ts';
import { BlobType } from './blob.ts';
import { blobId } from '../crypto/tenant-keys.ts';
import { KeyKind } from '../crypto/tenant-keys.ts';
import { readPackTrailer } from './pack.ts';
import { trailerKeyFor } from './pack-keys.ts';
import { Prefix } from './layout.ts';
import { checkRepository } from './check.ts';
import { adoptOrphanPacks } from './orphans.ts';
import { StorageError, StorageErrorCode } from '../storage/storage.ts';

const PW = 'pw';

async function fresh(packSize = 1024 * 1024) {
  const storage = new MemoryStorage();
  const repo = await Repository.init(storage, PW, { kdfMemoryMiB: 1, packSize });
  return { storage, repo };
}

describe('repository', () => {
  it('refuses to init twice and to open with a wrong passphrase', async () => {
    const { storage } = await fresh();
    await expect(Repository.init(storage, PW, { kdfMemoryMiB: 1 })).rejects.toMatchObject({ code: 'repo.already-exists' });
    await expect(Repository.open(storage, 'bad')).rejects.toMatchObject({ code: 'repo.wrong-passphrase' });
    await expect(Repository.open(new MemoryStorage(), PW)).rejects.toMatchObject({ code: 'repo.not-a-repository' });
  });

  it('skips a key file it cannot read, so the other keys still open the repository, and names it', async () => {
    const { storage } = await fresh();
    let own: { name: string } | undefined;
    for await (const o of storage.list(Prefix.keys)) own ??= o;
    const file = JSON.parse(Buffer.from(await storage.load(own!.name)).toString('utf8')) as { kdf: object };
    const hostile = Buffer.from(JSON.stringify({ ...file, kdf: { ...file.kdf, N: 2 ** 40 } }));
    // Listed before the good key (names sort), so it is tried first.
    await storage.save(`${Prefix.keys}${'0'.repeat(64)}`, hostile);
    const opened = await Repository.open(storage, PW);
    expect(await opened.listKeys()).toHaveLength(2); // listing reads no parameters it would act on
    await expect(Repository.open(storage, 'bad')).rejects.toMatchObject({ code: 'repo.wrong-passphrase', message: expect.stringMatching(/none of the 1 readable key.*skipped 1 unreadable key file.*out of range/) });
    const onlyHostile = new MemoryStorage();
    await onlyHostile.save(Prefix.config, await storage.load(Prefix.config));
    await onlyHostile.save(`${Prefix.keys}${'0'.repeat(64)}`, hostile);
    await expect(Repository.open(onlyHostile, PW)).rejects.toMatchObject({ code: 'repo.no-key', message: expect.stringContaining('no readable key') });
  });

  it('writes packs then index, deduplicates, and reads blobs back', async () => {
    const { storage, repo } = await fresh();
    const writer = new RepoWriter(repo, new InlineSealer());
    const blobs = Array.from({ length: 40 }, (_, i) => (i % 2 ? randomBytes(100_000) : Buffer.alloc(100_000, i)));
    const ids = blobs.map((b) => blobId(repo.keys.idKey, b));
    for (const [i, b] of blobs.entries()) expect(await writer.addBlob(BlobType.Data, ids[i]!, new Uint8Array(b))).toBe(true);
    expect(await writer.addBlob(BlobType.Data, ids[0]!, new Uint8Array(blobs[0]!))).toBe(false);
    await writer.flush();
    expect(writer.stats.packs).toBeGreaterThan(1);

    const again = await Repository.open(storage, PW);
    await again.loadIndex();
    for (const [i, id] of ids.entries()) expect(Buffer.from(await again.readBlob(id, BlobType.Data)).equals(blobs[i]!)).toBe(true);

    // Packs describe themselves: the trailer lists the same blobs as the index.
    for await (const o of storage.list(Prefix.data)) {
      const t = readPackTrailer(await storage.load(o.name), (epk) => trailerKeyFor(epk, again.keys), o.name);
      for (const b of t.blobs) expect(again.index.has(b.id)).toBe(true);
    }
    const report = await checkRepository(again, { readData: true });
    expect(report.problems).toEqual([]);
  });

  it('lets a write-only key store data it cannot read back', async () => {
    const { storage, repo } = await fresh();
    await repo.addKey('writer-pw', { host: 'w', kdfMemoryMiB: 1, kind: KeyKind.Writer });
    const w = await Repository.open(storage, 'writer-pw');
    expect(w.canReadContent).toBe(false);
    await w.loadIndex();
    const writer = new RepoWriter(w, new InlineSealer());
    const data = randomBytes(5000);
    const id = blobId(w.keys.idKey, data);
    await writer.addBlob(BlobType.Data, id, new Uint8Array(data));
    await writer.flush();
    await expect(w.readBlob(id)).rejects.toMatchObject({ code: 'crypto.no-private-key' });
    const owner = await Repository.open(storage, PW);
    await owner.loadIndex();
    expect(Buffer.from(await owner.readBlob(id)).equals(data)).toBe(true);
  });

  it('surfaces a full disk as storage.no-space and writes no index or snapshot after it', async () => {
    const { storage, repo } = await fresh();
    const realSave = storage.save.bind(storage);
    let full = false;
    storage.save = async (name, data) => {
      if (full) throw new StorageError(StorageErrorCode.NoSpace, 'disk is full');
      return realSave(name, data);
    };
    full = true;
    const writer = new RepoWriter(repo, new InlineSealer());
    const data = randomBytes(2_000_000);
    await writer.addBlob(BlobType.Data, blobId(repo.keys.idKey, data), new Uint8Array(data));
    await expect(writer.flush()).rejects.toMatchObject({ code: 'storage.no-space' });
    const names: string[] = [];
    for await (const o of storage.list('')) names.push(o.name);
    expect(names.filter((n) => n.startsWith(Prefix.index) || n.startsWith(Prefix.snapshots))).toEqual([]);
  });

  it('adopts a pack stored without an index, even with a write-only key, instead of storing it again', async () => {
    const { storage, repo } = await fresh();
    await repo.addKey('w', { host: 'w', kdfMemoryMiB: 1, kind: KeyKind.Writer });
    const realSave = storage.save.bind(storage);
    storage.save = async (name, data) => {
      if (name.startsWith(Prefix.index)) throw new StorageError(StorageErrorCode.Io, 'crash before the index');
      return realSave(name, data);
    };
    const writer = new RepoWriter(repo, new InlineSealer());
    const data = randomBytes(300_000);
    const id = blobId(repo.keys.idKey, data);
    await writer.addBlob(BlobType.Data, id, new Uint8Array(data));
    await expect(writer.flush()).rejects.toThrow();
    storage.save = realSave;

    const w = await Repository.open(storage, 'w');
    await w.loadIndex();
    expect(w.index.has(id)).toBe(false);
    expect(await adoptOrphanPacks(w)).toEqual({ adopted: 1, unreadable: [] });
    expect(w.index.has(id)).toBe(true);
    const owner = await Repository.open(storage, PW);
    await owner.loadIndex();
    expect(Buffer.from(await owner.readBlob(id)).equals(data)).toBe(true);
    expect(await adoptOrphanPacks(owner)).toEqual({ adopted: 0, unreadable: [] });
  });

  it('lists snapshots oldest first, reading each object once and at most 16 at a time', async () => {
    const { storage, repo } = await fresh();
    const times = Array.from({ length: 40 }, (_, i) => BigInt((i * 7919) % 40) * 1_000_000_000n);
    for (const timeNs of times) {
      await repo.saveSnapshot({
        version: 1, timeNs, host: 'h', source: 's', paths: ['/x'], tree: new Uint8Array(32), tags: [], status: 'ok',
        summary: { files: 0, dirs: 0, others: 0, bytes: 0, filesRead: 0, newBytes: 0, newBlobs: 0, storedBytes: 0, durationMs: 0 }, errors: [], errorCount: 0,
      });
    }
    let loads = 0;
    let inFlight = 0;
    let most = 0;
    const load = storage.load.bind(storage);
    storage.load = async (name, range) => {
      if (!name.startsWith(Prefix.snapshots)) return load(name, range);
      loads++;
      most = Math.max(most, ++inFlight);
      try {
        await new Promise((r) => setTimeout(r, 1));
        return await load(name, range);
      } finally {
        inFlight--;
      }
    };
    const reader = await Repository.open(storage, PW);
    const first = await reader.listSnapshots();
    expect(first.map((r) => r.snapshot.timeNs)).toEqual([...times].sort((a, b) => (a < b ? -1 : 1)));
    expect(loads).toBe(40);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(16);
    expect((await reader.parentFor('s', ['/x']))?.snapshot.timeNs).toBe(39_000_000_000n);
    expect(loads).toBe(40); // the second listing read nothing again
  });
});

