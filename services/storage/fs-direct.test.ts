import { constants, readFileSync } from 'node:fs';
import * as nodeFs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadContentAddon } from '../repo/content-addon.ts';
import { describeStorageConformance, patternBytes, rejection } from './conformance.ts';
import { DIRECT_ALIGN, STAGE_BYTES, StagePool, type AlignedAlloc } from './fs-direct.ts';
import { diskProblems, fsWithHandles, makeFsFixture, patchHandle, sysError, useTempDir } from './fs-fixture.ts';
import { FsStorage } from './fs.ts';
import { StorageErrorCode } from './storage.ts';

// The native addon is built by `npm ci` (deploy/setup.sh); without it these tests cannot run, and must not pass.
const { addon, error } = loadContentAddon();
if (addon === undefined) throw new Error('the native addon is not built: run npm ci', { cause: error });
const alignedAlloc: AlignedAlloc = (size) => addon.alignedBuffer(size);

const isDirect = (flags: string | number): boolean => typeof flags === 'number' && (flags & constants.O_DIRECT) !== 0;

describeStorageConformance('FsStorage with direct writes', () => makeFsFixture(undefined, { alignedAlloc }));

describe('FsStorage direct writes', () => {
  const scratch = useTempDir('ferry-direct-');

  /** Pieces of awkward sizes that span several stages and end off the block. */
  const pieces = (): Uint8Array[] => [1, 4095, 4097, STAGE_BYTES - 3, 3 * STAGE_BYTES + 17, 0, 12_345].map((n, i) => patternBytes(n, i + 1));

  it('gives aligned buffers and refuses sizes off the block', () => {
    expect(addon.alignedBuffer(2 * DIRECT_ALIGN)?.length).toBe(2 * DIRECT_ALIGN);
    expect(() => addon.alignedBuffer(1000)).toThrow(/multiple of 4096/);
  });

  it('keeps eight stages for reuse and frees the rest at once', () => {
    const pool = StagePool.create(alignedAlloc)!;
    const stages = Array.from({ length: 10 }, () => pool.take());
    for (const stage of stages) pool.give(stage);
    expect(stages.map((s) => s.length)).toEqual([...Array(8).fill(STAGE_BYTES), 0, 0]);
    expect(new Set(Array.from({ length: 8 }, () => pool.take()))).toEqual(new Set(stages.slice(0, 8)));
  });

  it('writes a writer past the page cache and publishes the exact bytes, while save() goes through the cache', async () => {
    const opened: Array<{ file: string; direct: boolean }> = [];
    const fs = fsWithHandles((file, flags, fh) => {
      opened.push({ file: path.basename(file), direct: isDirect(flags) });
      return fh;
    });
    const s = await FsStorage.create(scratch.root, { fs, alignedAlloc });
    const w = await s.writer();
    expect(w.gathers).toBe(true);
    const parts = pieces();
    const writes = parts.map((p) => w.write(p));
    // The pieces were copied: the caller may reuse them at once.
    await Promise.all(writes);
    for (const p of parts) p.fill(0xee);
    await w.commit('data/ab/pack');
    expect(Buffer.from(readFileSync(path.join(scratch.root, 'data/ab/pack'))).equals(Buffer.concat(pieces()))).toBe(true);
    await s.save('index/x', patternBytes(10, 9));
    expect(opened.filter((o) => o.file.startsWith('.tmp-')).map((o) => o.direct)).toEqual([true, false]);
    expect(diskProblems(scratch.root)).toEqual([]);
  });

  it('goes through the page cache when the filesystem refuses O_DIRECT at open, and stops asking', async () => {
    const direct: boolean[] = [];
    const fs = {
      ...nodeFs,
      open: (async (file: string, flags: string | number, mode?: number) => {
        if (path.basename(file).startsWith('.tmp-')) direct.push(isDirect(flags));
        if (isDirect(flags)) throw sysError('EINVAL');
        return nodeFs.open(file, flags, mode);
      }) as never,
    };
    const s = await FsStorage.create(scratch.root, { fs, alignedAlloc });
    for (const name of ['a', 'b']) {
      const w = await s.writer();
      expect(w.gathers).toBe(false);
      for (const p of pieces()) await w.write(p);
      await w.commit(name);
      expect(Buffer.from(await s.load(name)).equals(Buffer.concat(pieces()))).toBe(true);
    }
    expect(direct).toEqual([true, false, false]);
  });

  it('rewrites through the page cache when a direct write is refused, and later writers are not direct', async () => {
    const direct: boolean[] = [];
    const fs = fsWithHandles((file, flags, fh) => {
      if (path.basename(file).startsWith('.tmp-')) direct.push(isDirect(flags));
      return isDirect(flags) ? patchHandle(fh, { write: () => Promise.reject(sysError('EINVAL')) }) : fh;
    });
    const s = await FsStorage.create(scratch.root, { fs, alignedAlloc });
    for (const name of ['a', 'b']) {
      const w = await s.writer();
      for (const p of pieces()) await w.write(p);
      await w.commit(name);
      expect(Buffer.from(await s.load(name)).equals(Buffer.concat(pieces()))).toBe(true);
    }
    // The first writer's file, reopened through the cache; the second writer never direct.
    expect(direct).toEqual([true, false, false]);
    expect(diskProblems(scratch.root)).toEqual([]);
  });

  it('reports a full disk during a direct write at the commit, and leaves nothing behind', async () => {
    const fs = fsWithHandles((_file, flags, fh) => (isDirect(flags) ? patchHandle(fh, { write: () => Promise.reject(sysError('ENOSPC')) }) : fh));
    const s = await FsStorage.create(scratch.root, { fs, alignedAlloc });
    await s.save('keep', patternBytes(100, 1));
    const w = await s.writer();
    await w.write(patternBytes(2 * STAGE_BYTES, 2));
    expect((await rejection(w.commit('data/ab/pack'))).code).toBe(StorageErrorCode.NoSpace);
    await expect(s.stat('data/ab/pack')).rejects.toMatchObject({ code: StorageErrorCode.NotFound });
    expect(Buffer.from(await s.load('keep')).equals(Buffer.from(patternBytes(100, 1)))).toBe(true);
    expect(diskProblems(scratch.root)).toEqual([]);
  });

  it('fails a write whose stage memory runs out, and leaves nothing behind', async () => {
    let given = 0;
    // The pool keeps the first buffer; the next one cannot be had.
    const s = await FsStorage.create(scratch.root, { alignedAlloc: (size) => (given++ === 0 ? alignedAlloc(size) : undefined) });
    const w = await s.writer();
    expect((await rejection(w.write(patternBytes(STAGE_BYTES + 1, 5)))).code).toBe(StorageErrorCode.Io);
    expect((await rejection(w.commit('o'))).code).toBe(StorageErrorCode.Io);
    await expect(s.stat('o')).rejects.toMatchObject({ code: StorageErrorCode.NotFound });
    expect(diskProblems(scratch.root)).toEqual([]);
  });

  it('discards an aborted direct writer', async () => {
    const s = await FsStorage.create(scratch.root, { alignedAlloc });
    const w = await s.writer();
    await w.write(patternBytes(STAGE_BYTES + 5, 3));
    await w.abort();
    await w.abort();
    expect(diskProblems(scratch.root)).toEqual([]);
  });

  it('writes through the page cache when no aligned memory can be had', async () => {
    const s = await FsStorage.create(scratch.root, { alignedAlloc: () => undefined });
    const w = await s.writer();
    expect(w.gathers).toBe(false);
    await w.write(patternBytes(5000, 4));
    await w.commit('o');
    expect((await s.stat('o')).size).toBe(5000);
  });
});
