/** `ferry sync` in-process (sync.ts): copying, resuming, order, verification and refusals, over memory storage. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blobId } from '../crypto/tenant-keys.ts';
import { withFaults } from '../storage/faults.ts';
import { MemoryStorage } from '../storage/memory.ts';
import { withRetry } from '../storage/retry.ts';
import { notFound, StorageError, StorageErrorCode, type Storage } from '../storage/storage.ts';
import { stubStorage } from '../storage/stub.ts';
import { BlobType } from './blob.ts';
import { sha256, toHex } from './ids.ts';
import { Prefix } from './layout.ts';
import { RepoWriter } from './repo-writer.ts';
import { Repository } from './repository.ts';
import { InlineSealer } from './sealer.ts';
import { ObjectType } from './sealed-object.ts';
import { syncRepository, SyncErrorCode, SyncPhase, type SyncProgress } from './sync.ts';

const PW = 'pw';

/** A repository of two backups' worth of objects: data and tree packs, two index files, two snapshots. */
async function sourceRepo(): Promise<{ storage: MemoryStorage; repo: Repository; blobs: Map<string, Buffer> }> {
  const storage = new MemoryStorage();
  const repo = await Repository.init(storage, PW, { kdfMemoryMiB: 1, packSize: 1024 * 1024 });
  const blobs = new Map<string, Buffer>();
  for (let round = 0; round < 2; round++) {
    const writer = new RepoWriter(repo, new InlineSealer());
    for (let i = 0; i < 6; i++) {
      const data = randomBytes(250_000);
      const id = blobId(repo.keys.idKey, data);
      blobs.set(toHex(id), data);
      await writer.addBlob(BlobType.Data, id, new Uint8Array(data));
    }
    const tree = randomBytes(2_000);
    await writer.addBlob(BlobType.Tree, blobId(repo.keys.idKey, tree), new Uint8Array(tree));
    await writer.flush();
    await repo.saveObject(ObjectType.Snapshot, randomBytes(100));
  }
  return { storage, repo, blobs };
}

async function contents(storage: Storage): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const o of storage.list('')) out.set(o.name, toHex(sha256(await storage.load(o.name))));
  return out;
}

const kindOf = (name: string) => (name === Prefix.config ? 'config' : name.slice(0, name.indexOf('/') + 1));

/** A copy of `name`'s bytes at `storage` with one byte changed. */
async function damage(storage: Storage, name: string): Promise<void> {
  const bytes = await storage.load(name);
  bytes[bytes.length >> 1]! ^= 0xff;
  await storage.save(name, bytes);
}

async function namesUnder(storage: Storage, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of storage.list(prefix)) out.push(o.name);
  return out.sort();
}

describe('syncRepository', () => {
  it('copies every object as stored, so the copy opens with the same passphrase; a second run copies nothing', async () => {
    const { storage: src, blobs } = await sourceRepo();
    const want = await contents(src);
    expect(new Set([...want.keys()].map(kindOf))).toEqual(new Set(['config', 'keys/', 'data/', 'tree/', 'index/', 'snapshots/']));
    const dst = new MemoryStorage();

    const first = await syncRepository(src, dst);
    expect(await contents(dst)).toEqual(want);
    expect(first.total).toMatchObject({ copied: want.size, skipped: 0, ignored: 0 });
    expect(first.phases.snapshots.copied).toBe(2);
    expect(first.phases.index.copied).toBe(2);
    expect(first.phases.config.copied).toBe(2); // the key file and config

    const copy = await Repository.open(dst, PW);
    await copy.loadIndex();
    for (const [hex, data] of blobs) expect(Buffer.from(await copy.readBlob(Buffer.from(hex, 'hex'))).equals(data)).toBe(true);

    const second = await syncRepository(src, dst);
    expect(second.total).toMatchObject({ copied: 0, copiedBytes: 0, skipped: want.size });
    expect(second.total.skippedBytes).toBe(first.total.copiedBytes);
  });

  it('resumes a run stopped after any number of saves, sending each object exactly once in all', async () => {
    const { storage: src } = await sourceRepo();
    const want = await contents(src);
    for (let stopAfter = 0; stopAfter < want.size; stopAfter++) {
      const inner = new MemoryStorage();
      let stored = 0;
      const counted = stubStorage({ save: async (name, data) => { await inner.save(name, data); stored++; } }, inner);
      let attempts = 0;
      const dying = withFaults(counted, { failNames: (_name, op) => op === 'save' && ++attempts > stopAfter });
      await expect(syncRepository(src, dying), `stopped after ${stopAfter}`).rejects.toMatchObject({ code: 'storage.fault' });
      expect(stored).toBe(stopAfter);
      const rerun = await syncRepository(src, counted);
      expect(await contents(inner)).toEqual(want);
      expect(stored).toBe(want.size);
      expect(rerun.total.copied + stopAfter).toBe(want.size);
    }
  });

  it('saves keys, then config, then every pack, then every index file, then the snapshots, each kind only once the one before is stored', async () => {
    const { storage: src } = await sourceRepo();
    const order = ['keys/', 'config', 'data/|tree/', 'index/', 'snapshots/'];
    const rank = (name: string) => order.findIndex((o) => o.split('|').includes(kindOf(name)));
    const total = [0, 0, 0, 0, 0];
    for (const name of (await contents(src)).keys()) total[rank(name)]!++;
    const stored = [0, 0, 0, 0, 0];
    const early: string[] = [];
    const inner = new MemoryStorage();
    let calls = 0;
    const dst = stubStorage({
      save: async (name, data) => {
        const r = rank(name);
        if (r < 0 || stored.slice(0, r).some((n, i) => n < total[i]!)) early.push(name);
        // Uneven delays, so a save started too early would also finish early.
        await new Promise((res) => setTimeout(res, [3, 0, 1][calls++ % 3]));
        await inner.save(name, data);
        stored[r]!++;
      },
    }, inner);
    await syncRepository(src, dst, { lanes: 4 });
    expect(early).toEqual([]);
    expect(stored).toEqual(total);
    expect(total.every((n) => n > 0)).toBe(true);
  });

  it('stops at a storage error once the copies in flight have settled, starting no more', async () => {
    const { storage: src } = await sourceRepo();
    const inner = new MemoryStorage();
    let started = 0;
    let inFlight = 0;
    const dst = stubStorage({
      save: async (name, data) => {
        if (!name.startsWith(Prefix.data)) return inner.save(name, data);
        started++;
        inFlight++;
        try {
          if (started === 1) throw new StorageError(StorageErrorCode.Io, 'disk on fire');
          await new Promise((res) => setTimeout(res, 20));
          await inner.save(name, data);
        } finally {
          inFlight--;
        }
      },
    }, inner);
    await expect(syncRepository(src, dst, { lanes: 2 })).rejects.toMatchObject({ code: StorageErrorCode.Io });
    expect(inFlight).toBe(0);
    expect(started).toBe(2);
    expect((await namesUnder(src, Prefix.data)).length).toBeGreaterThan(2);
  });

  it('copies no index file or snapshot that a backup stores at the source after the sync listed them, even though its pack is copied', async () => {
    const { storage: inner } = await sourceRepo();
    const late = { pack: randomBytes(5_000), index: randomBytes(300), snapshot: randomBytes(100) };
    const hex = (b: Uint8Array) => toHex(sha256(b));
    const names = { pack: `data/${hex(late.pack).slice(0, 2)}/${hex(late.pack)}`, index: `index/${hex(late.index)}`, snapshot: `snapshots/${hex(late.snapshot)}` };
    let stored = false;
    const src = stubStorage({
      list: (prefix) => (async function* () {
        // A backup that finishes just as the sync starts on the packs: pack, index file, snapshot, in §11 order.
        if (prefix === Prefix.data && !stored) {
          stored = true;
          await inner.save(names.pack, late.pack);
          await inner.save(names.index, late.index);
          await inner.save(names.snapshot, late.snapshot);
        }
        yield* inner.list(prefix);
      })(),
    }, inner);
    const dst = new MemoryStorage();
    await syncRepository(src, dst);
    expect(stored).toBe(true);
    expect(await namesUnder(dst, Prefix.data)).toContain(names.pack);
    expect(await namesUnder(dst, Prefix.index)).not.toContain(names.index);
    expect(await namesUnder(dst, Prefix.snapshots)).not.toContain(names.snapshot);
    const next = await syncRepository(src, dst);
    expect(next.phases.index.copied).toBe(1);
    expect(next.phases.snapshots.copied).toBe(1);
    expect(await contents(dst)).toEqual(await contents(inner));
  });

  it('reports a damaged source object by name, copies the rest of its phase and nothing after it', async () => {
    const { storage: src } = await sourceRepo();
    const packs = await namesUnder(src, Prefix.data);
    await damage(src, packs[0]!);
    const dst = new MemoryStorage();
    const err = await syncRepository(src, dst).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: SyncErrorCode.CorruptSource, details: { name: packs[0] } });
    expect((err as Error).message).toContain(packs[0]);
    expect(await namesUnder(dst, Prefix.data)).toEqual(packs.slice(1));
    expect(await namesUnder(dst, Prefix.tree)).toEqual(await namesUnder(src, Prefix.tree));
    expect(await namesUnder(dst, Prefix.index)).toEqual([]);
    expect(await namesUnder(dst, Prefix.snapshots)).toEqual([]);

    await damage(src, packs[1]!);
    const both = await syncRepository(src, new MemoryStorage()).catch((e: unknown) => e);
    expect(both).toMatchObject({ code: SyncErrorCode.ObjectsFailed, details: { count: 2 } });
    expect((both as { problems: { details: { name?: unknown } }[] }).problems.map((p) => p.details.name).sort()).toEqual(packs.slice(0, 2));
  });

  it('reports an object the destination holds with another size and leaves it as it is', async () => {
    const { storage: src } = await sourceRepo();
    const dst = new MemoryStorage();
    await syncRepository(src, dst);
    const [name] = await namesUnder(dst, Prefix.tree);
    const short = (await dst.load(name!)).subarray(0, 10);
    await dst.save(name!, short);
    await expect(syncRepository(src, dst)).rejects.toMatchObject({ code: SyncErrorCode.SizeMismatch, details: { name, destinationSize: 10 } });
    expect(Buffer.from(await dst.load(name!)).equals(short)).toBe(true);
  });

  it('refuses a destination that holds another repository, or anything but this one, and writes nothing there', async () => {
    const { storage: src } = await sourceRepo();
    const other = new MemoryStorage();
    await Repository.init(other, PW, { kdfMemoryMiB: 1 });
    const before = await contents(other);
    const err = await syncRepository(src, other).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: SyncErrorCode.OtherRepository });
    expect((err as Error).message).toMatch(/another repository.*empty location/);
    expect(await contents(other)).toEqual(before);

    const stray = new MemoryStorage();
    await stray.save('data/ab/readme', new Uint8Array([1]));
    await expect(syncRepository(src, stray)).rejects.toMatchObject({ code: SyncErrorCode.NotEmpty });
    expect(await namesUnder(stray, '')).toEqual(['data/ab/readme']);

    // Key files of this repository without a config are what a first sync stopped early leaves: taken.
    const started = new MemoryStorage();
    for (const name of await namesUnder(src, Prefix.keys)) await started.save(name, await src.load(name));
    await syncRepository(src, started);
    expect(await contents(started)).toEqual(await contents(src));
  });

  it('leaves out source objects whose names are not the layout\'s', async () => {
    const { storage: src } = await sourceRepo();
    const pack = (await namesUnder(src, Prefix.data))[0]!;
    await src.save('data/notes.txt', new Uint8Array([1, 2, 3]));
    await src.save(`data/zz/${pack.slice(-64)}`, await src.load(pack));
    const dst = new MemoryStorage();
    const r = await syncRepository(src, dst);
    expect(r.phases.packs.ignored).toBe(2);
    expect((await namesUnder(dst, Prefix.data)).filter((n) => n === 'data/notes.txt' || n.startsWith('data/zz/'))).toEqual([]);
  });

  it('completes through a destination that loses save answers and a source whose loads fail, under retries', async () => {
    const { storage: src } = await sourceRepo();
    const inner = new MemoryStorage();
    const dst = withFaults(inner, { failAfterSave: 0.3, seed: 7 });
    const flaky = withFaults(src, { failBefore: 0.2, seed: 3 });
    await syncRepository(withRetry(flaky, { baseDelayMs: 1 }), withRetry(dst, { baseDelayMs: 1 }));
    expect(dst.faults.afterSave).toBeGreaterThan(0);
    expect(flaky.faults.before).toBeGreaterThan(0);
    expect(await contents(inner)).toEqual(await contents(src));
  });

  it('holds at most `lanes` objects at once, and reports progress per phase adding up to the result', async () => {
    const { storage: inner } = await sourceRepo();
    // From a pack's load to the destination's stat of it, the sync holds the pack.
    const isPack = (name: string) => name.startsWith(Prefix.data) || name.startsWith(Prefix.tree);
    let held = 0;
    let most = 0;
    const src = stubStorage({ load: async (name, range) => { if (isPack(name)) most = Math.max(most, ++held); return inner.load(name, range); } }, inner);
    const dstInner = new MemoryStorage();
    const dst = stubStorage({ stat: async (name) => { if (isPack(name)) held--; return dstInner.stat(name); } }, dstInner);
    const events: SyncProgress[] = [];
    const r = await syncRepository(src, dst, { lanes: 2, onProgress: (p) => events.push(p) });
    expect(most).toBe(2);
    expect([...new Set(events.map((e) => e.phase))]).toEqual([SyncPhase.Config, SyncPhase.Packs, SyncPhase.Index, SyncPhase.Snapshots]);
    for (const phase of Object.values(SyncPhase)) {
      const last = events.filter((e) => e.phase === phase).at(-1)!;
      expect(last.done).toEqual(r.phases[phase]);
      expect(last.missing).toBe(r.phases[phase].copied);
      expect(last.missingBytes).toBe(r.phases[phase].copiedBytes);
    }
    await expect(syncRepository(src, dst, { lanes: 0 })).rejects.toThrow(RangeError);
  });

  it('stops, copying no snapshot, when an object it listed is gone from the source when read', async () => {
    const { storage: inner } = await sourceRepo();
    const [gone] = await namesUnder(inner, Prefix.index);
    const src = stubStorage({ load: async (name, range) => (name === gone ? Promise.reject(notFound(name, 'stub:')) : inner.load(name, range)) }, inner);
    const dst = new MemoryStorage();
    await expect(syncRepository(src, dst)).rejects.toMatchObject({ code: StorageErrorCode.NotFound, details: { name: gone } });
    expect(await namesUnder(dst, Prefix.snapshots)).toEqual([]);
  });

  it('says there is nothing to sync when the source holds no repository', async () => {
    await expect(syncRepository(new MemoryStorage(), new MemoryStorage())).rejects.toMatchObject({ code: 'repo.not-a-repository' });
  });
});
