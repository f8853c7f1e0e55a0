/**
 * BatchUploader's store gate: reading goes ahead of it, storing waits for it.
 * And chunks a scanner leaves out as known: read again when the repository
 * lacks them after all, and a file that changed between the reads fails alone.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStorage } from '../storage/memory.ts';
import { stubStorage } from '../storage/stub.ts';
import { mapFsError } from '../storage/fs-errors.ts';
import { Repository } from '../repo/repository.ts';
import { RepoWriter } from '../repo/repo-writer.ts';
import { InlineSealer } from '../repo/sealer.ts';
import { BlobWorkers } from '../repo/blob-workers.ts';
import { BlobType } from '../repo/blob.ts';
import { blobId } from '../crypto/tenant-keys.ts';
import type { ContentScanner, ScanOptions, SealSpec } from '../repo/content.ts';
import { buildSelection } from '../repo/selection.ts';
import { walkSource } from './scan-walker.ts';
import { BatchUploader, fileNodeBytes } from './upload-batch.ts';
import { decodeEvents, decodeEventsWith, encodeEvents, encodeEventsWith, nodeBytes, type ScanEvent } from './scan-events.ts';

const chunker = { minSize: 64 * 1024, avgSize: 128 * 1024, maxSize: 512 * 1024 };

describe('BatchUploader store gate', () => {
  let dir: string;
  let repo: Repository;
  let workers: BlobWorkers;
  let small: Buffer;
  let events: ScanEvent[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-upload-'));
    small = randomBytes(10_000);
    await writeFile(join(dir, 'small.bin'), small);
    await writeFile(join(dir, 'large.bin'), randomBytes(6 * 1024 * 1024));
    repo = await Repository.init(new MemoryStorage(), 'pw', { kdfMemoryMiB: 1, chunker });
    workers = new BlobWorkers(repo.config, repo.keys.idKey, { threads: 1 });
    events = [];
    for await (const i of walkSource({ repo, selection: buildSelection([dir]) })) events.push(i.event);
  });
  afterAll(async () => {
    await workers?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Counts the reads the workers answered. */
  function counting(): ContentScanner & { answered: number } {
    const c = {
      answered: 0,
      scanSegment: (path: string, start: number, budget: number, opts: ScanOptions) => workers.scanSegment(path, start, budget, opts).finally(() => c.answered++),
      readFiles: (paths: readonly string[], opts: ScanOptions) => workers.readFiles(paths, opts).finally(() => c.answered++),
      readRange: (path: string, offset: number, length: number, seal: SealSpec) => workers.readRange(path, offset, length, seal).finally(() => c.answered++),
    };
    return c;
  }

  it('reads and chunks while the gate is shut, stores nothing until it opens, and skips what the gate indexed', async () => {
    const writer = new RepoWriter(repo, new InlineSealer());
    const scanner = counting();
    let open!: () => void;
    let gateCalls = 0;
    const uploader = new BatchUploader(repo, writer, scanner, {
      beforeStore: () => {
        gateCalls++;
        return new Promise<void>((resolve) => (open = resolve));
      },
    });
    const done = uploader.process(events);
    // The whole file, then the large file's first segment and its second, asked for ahead.
    await vi.waitFor(() => expect(scanner.answered).toBe(3), { timeout: 10_000 });
    expect(gateCalls).toBe(1);
    expect(writer.stats.newBlobs).toBe(0);
    // What adoption does: the small file's blob becomes indexed before the gate opens.
    const other = new RepoWriter(repo, new InlineSealer());
    await other.addBlob(BlobType.Data, blobId(repo.keys.idKey, small), new Uint8Array(small));
    await other.flush();
    open();
    const result = await done;
    await writer.flush();
    expect(result.errors).toBe(0);
    expect(uploader.reader.filesRead).toBe(2);
    expect(uploader.added.blobs).toBe(writer.stats.newBlobs);
    expect(writer.stats.newBlobs).toBeGreaterThan(20); // the large file's chunks, not the small file
    const smallNode = result.events.find((e) => e.t === 'f' && e.node.name === 'small.bin');
    expect(smallNode?.t === 'f' && smallNode.node.content).toEqual([new Uint8Array(blobId(repo.keys.idKey, small))]);
  });

  it('fails the batch when the gate fails, though a large file would report its own errors per file', async () => {
    const writer = new RepoWriter(repo, new InlineSealer());
    const uploader = new BatchUploader(repo, writer, workers, {
      beforeStore: () => Promise.reject(new Error('listing packs failed')),
    });
    const largeOnly = events.filter((e) => !(e.t === 'f' && e.node.name === 'small.bin'));
    await expect(uploader.process(largeOnly)).rejects.toThrow('listing packs failed');
    expect(writer.stats.newBlobs).toBe(0);
  });

  it('does not call the gate for a batch with nothing to read', async () => {
    const writer = new RepoWriter(repo, new InlineSealer());
    let gateCalls = 0;
    const uploader = new BatchUploader(repo, writer, workers, { beforeStore: async () => void gateCalls++ });
    const unchanged = events.filter((e) => e.t !== 'f');
    await uploader.process(unchanged);
    expect(gateCalls).toBe(0);
  });
});

describe('BatchUploader and chunks the known-blobs filter claims', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-upload-known-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A scanner whose filter says yes to everything: every chunk and file comes back without its bytes. */
  function claimsAll(repo: Repository, onRange: (path: string) => Promise<void> = async () => {}): ContentScanner & { ranges: number } {
    const w = new BlobWorkers(repo.config, repo.keys.idKey, { threads: 1 });
    cleanups.push(() => w.close());
    const c = {
      ranges: 0,
      scanSegment: async (path: string, start: number, budget: number, opts: ScanOptions) => {
        const seg = await w.scanSegment(path, start, budget, opts);
        return { ...seg, chunks: seg.chunks.map(({ sealed: _sealed, ...rest }) => rest) };
      },
      readFiles: async (paths: readonly string[], opts: ScanOptions) =>
        (await w.readFiles(paths, opts)).map((r) => (r.ok ? { ok: true as const, size: r.size, id: r.id, hash: r.hash } : r)),
      readRange: async (path: string, offset: number, length: number, seal: SealSpec) => {
        c.ranges++;
        await onRange(path);
        return w.readRange(path, offset, length, seal);
      },
    };
    return c;
  }
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  async function setUp(name: string): Promise<{ repo: Repository; events: ScanEvent[]; large: Buffer; small: Buffer; src: string }> {
    const src = join(dir, name);
    await mkdir(src);
    const large = randomBytes(3 * 1024 * 1024);
    const small = randomBytes(20_000);
    await writeFile(join(src, 'large.bin'), large);
    await writeFile(join(src, 'small.bin'), small);
    const repo = await Repository.init(new MemoryStorage(), 'pw', { kdfMemoryMiB: 1, chunker });
    const events: ScanEvent[] = [];
    for await (const i of walkSource({ repo, selection: buildSelection([src]) })) events.push(i.event);
    return { repo, events, large, small, src };
  }

  it('reads the bytes again when the repository does not have them after all, and stores the file whole', async () => {
    const { repo, events, large, small } = await setUp('false-positive');
    const writer = new RepoWriter(repo, new InlineSealer());
    const scanner = claimsAll(repo);
    const uploader = new BatchUploader(repo, writer, scanner);
    const result = await uploader.process(events);
    await writer.flush();
    expect(result.errors).toBe(0);
    expect(scanner.ranges).toBe(writer.stats.newBlobs);
    const node = (name: string) => result.events.find((e) => e.t === 'f' && e.node.name === name);
    for (const [name, bytes] of [['large.bin', large], ['small.bin', small]] as const) {
      const e = node(name);
      if (e?.t !== 'f') throw new Error(`no file event for ${name}`);
      const parts = await Promise.all((e.node.content ?? []).map((id) => repo.readBlob(id)));
      expect(Buffer.concat(parts).equals(bytes)).toBe(true);
    }
  });

  it('fills in the same nodes whether it holds them as objects or as bytes', async () => {
    const { repo, events } = await setUp('as-bytes');
    const asObjects = await new BatchUploader(repo, new RepoWriter(repo, new InlineSealer()), claimsAll(repo)).process(events);
    const asBytes = await new BatchUploader(repo, new RepoWriter(repo, new InlineSealer()), claimsAll(repo), { nodes: fileNodeBytes }).process(
      decodeEventsWith(encodeEvents(events), 'scan', nodeBytes),
    );
    const bytes = encodeEventsWith(asBytes.events, nodeBytes);
    expect(Buffer.from(bytes).equals(encodeEvents(asObjects.events))).toBe(true);
    expect(decodeEvents(bytes, 'result').filter((e) => e.t === 'f' && e.node.content !== undefined)).toHaveLength(2);
  });

  it('fails only the file whose bytes changed between the scan and the second read', async () => {
    const { repo, events, small, src } = await setUp('changed');
    const writer = new RepoWriter(repo, new InlineSealer());
    const scanner = claimsAll(repo, async (path) => {
      if (path.endsWith('large.bin')) await writeFile(path, randomBytes(3 * 1024 * 1024));
    });
    const uploader = new BatchUploader(repo, writer, scanner);
    const result = await uploader.process(events);
    await writer.flush();
    expect(result.errors).toBe(1);
    expect(result.events).toContainEqual(expect.objectContaining({ t: 'x', path: join(src, 'large.bin'), code: 'content.changed' }));
    const ok = result.events.find((e) => e.t === 'f' && e.node.name === 'small.bin');
    if (ok?.t !== 'f') throw new Error('small.bin was not stored');
    expect(Buffer.from(await repo.readBlob(ok.node.content![0]!)).equals(small)).toBe(true);
  });

  it('fails alone a small file that is gone when its bytes are read again', async () => {
    const { repo, events, large, src } = await setUp('gone');
    const writer = new RepoWriter(repo, new InlineSealer());
    const scanner = claimsAll(repo, async (path) => {
      if (path.endsWith('small.bin')) await rm(path, { force: true });
    });
    const result = await new BatchUploader(repo, writer, scanner).process(events);
    await writer.flush();
    expect(result.errors).toBe(1);
    expect(result.events).toContainEqual(expect.objectContaining({ t: 'x', path: join(src, 'small.bin') }));
    const ok = result.events.find((e) => e.t === 'f' && e.node.name === 'large.bin');
    if (ok?.t !== 'f') throw new Error('large.bin was not stored');
    const parts = await Promise.all((ok.node.content ?? []).map((id) => repo.readBlob(id)));
    expect(Buffer.concat(parts).equals(large)).toBe(true);
  });
});

describe('BatchUploader when the repository cannot be written', () => {
  it('fails the batch with the storage error instead of reporting it as each file\'s', async () => {
    const src = await mkdtemp(join(tmpdir(), 'ferry-upload-full-'));
    const full = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    const inner = new MemoryStorage();
    const storage = stubStorage(
      {
        writer: async () => {
          const w = await inner.writer();
          return { ...w, commit: (name: string) => (name.startsWith('data/') ? Promise.reject(mapFsError(full, name)) : w.commit(name)) };
        },
      },
      inner,
    );
    const repo = await Repository.init(storage, 'pw', { kdfMemoryMiB: 1, chunker, packSize: 1024 * 1024 });
    const workers = new BlobWorkers(repo.config, repo.keys.idKey, { threads: 1 });
    try {
      await writeFile(join(src, 'a.bin'), randomBytes(3 * 1024 * 1024));
      await writeFile(join(src, 'b.bin'), randomBytes(3 * 1024 * 1024));
      const events: ScanEvent[] = [];
      for await (const i of walkSource({ repo, selection: buildSelection([src]) })) events.push(i.event);
      const writer = new RepoWriter(repo, new InlineSealer());
      await expect(new BatchUploader(repo, writer, workers).process(events)).rejects.toMatchObject({ code: 'storage.no-space' });
    } finally {
      await workers.close();
      await rm(src, { recursive: true, force: true });
    }
  });
});
