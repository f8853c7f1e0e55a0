/** RepoWriter and prune marks: a writer never takes a blob as stored when only a marked pack holds it. */
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { MemoryStorage } from '../storage/memory.ts';
import { Repository } from './repository.ts';
import { RepoWriter } from './repo-writer.ts';
import { InlineSealer } from './sealer.ts';
import { BlobType } from './blob.ts';
import { blobId } from '../crypto/tenant-keys.ts';
import { stubStorage } from '../storage/stub.ts';
import { Prefix } from './layout.ts';

describe('RepoWriter with marked packs', () => {
  it('stores again, once, a blob it stored itself before its pack was marked', async () => {
    const repo = await Repository.init(new MemoryStorage(), 'pw', { kdfMemoryMiB: 1, packSize: 1024 * 1024 });
    const writer = new RepoWriter(repo, new InlineSealer());
    const data = randomBytes(50_000);
    const id = blobId(repo.keys.idKey, data);
    expect(await writer.addBlob(BlobType.Data, id, data)).toBe(true);
    await writer.flush();
    expect(writer.has(id)).toBe(true);
    const first = repo.index.get(id)!.pack.name;

    // A prune marks the pack (a long-running uploader sees the mark when it reloads the index).
    repo.index.setMarked(new Set([first]));
    expect(writer.has(id)).toBe(false);
    expect(await writer.addBlob(BlobType.Data, id, data)).toBe(true);
    expect(writer.has(id)).toBe(true);
    expect(await writer.addBlob(BlobType.Data, id, data)).toBe(false);
    await writer.flush();
    expect(writer.stats.packs).toBe(2);

    // Unmarked again (the sweep kept it): the blob counts as stored, as before.
    repo.index.setMarked(new Set());
    expect(writer.has(id)).toBe(true);
  });

  it('does not take an index file saved while the index was being listed for one a prune removed', async () => {
    const inner = new MemoryStorage();
    let release!: () => void;
    let gate: Promise<void> | undefined;
    const storage = stubStorage({
      // Lists now, answers once released: the listing predates what is saved meanwhile.
      list: (prefix) => (async function* () {
        const now = [];
        for await (const o of inner.list(prefix)) now.push(o);
        if (prefix === Prefix.index && gate) await gate;
        yield* now;
      })(),
    }, inner);
    const repo = await Repository.init(storage, 'pw', { kdfMemoryMiB: 1, packSize: 1024 * 1024 });
    const writer = new RepoWriter(repo, new InlineSealer());
    const add = async (data: Uint8Array) => {
      const id = blobId(repo.keys.idKey, data);
      await writer.addBlob(BlobType.Data, id, data);
      await writer.flush();
      return id;
    };
    await add(randomBytes(1000));
    gate = new Promise((r) => (release = r));
    const loading = repo.loadIndex();
    await new Promise((r) => setTimeout(r, 10));
    const second = await add(randomBytes(1000));
    release();
    await loading;
    expect(repo.indexGeneration).toBe(0);
    expect(repo.index.has(second)).toBe(true);
    expect(writer.has(second)).toBe(true);
  });
});
