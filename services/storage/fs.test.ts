import { existsSync, statSync, writeFileSync } from 'node:fs';
import * as nodeFs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { collect, describeStorageConformance, patternBytes, rejection } from './conformance.ts';
import { mapFsError } from './fs-errors.ts';
import { diskProblems, fsWithHandles, makeFsFixture, patchHandle, sysError, useTempDir } from './fs-fixture.ts';
import { FsStorage, type FsImpl } from './fs.ts';
import { withRetry } from './retry.ts';
import { isNotFound, StorageError, StorageErrorCode } from './storage.ts';

describeStorageConformance('FsStorage', () => makeFsFixture());

describe('FsStorage', () => {
  const scratch = useTempDir('ferry-fs-');

  it('names its location file:// plus the absolute root', async () => {
    const s = await FsStorage.create(scratch.root);
    expect(s.location).toBe(`file://${scratch.root}`);
    expect(new FsStorage('relative/dir').location).toBe(`file://${path.resolve('relative/dir')}`);
  });

  it('create() makes the root and missing parents 0700, and works on an existing root', async () => {
    const deep = path.join(scratch.parent, 'a', 'b', 'repo');
    await FsStorage.create(deep);
    for (const dir of [path.join(scratch.parent, 'a'), path.join(scratch.parent, 'a', 'b'), deep]) {
      expect(statSync(dir).mode & 0o777).toBe(0o700);
    }
    await FsStorage.create(deep);
  });

  it('create() refuses a root that is a file', async () => {
    writeFileSync(path.join(scratch.parent, 'file'), 'x');
    const err = await rejection(FsStorage.create(path.join(scratch.parent, 'file')));
    expect(err.code).toBe(StorageErrorCode.Io);
  });

  it('sets modes 0700/0600 whatever the umask', async () => {
    const old = process.umask(0o277);
    try {
      const s = await FsStorage.create(scratch.root);
      await s.save('data/ab/cd/object', patternBytes(100));
      await s.save('config', patternBytes(10));
    } finally {
      process.umask(old);
    }
    expect(diskProblems(scratch.root)).toEqual([]);
  });

  it('does not recreate a missing root on save', async () => {
    const s = new FsStorage(scratch.root);
    const err = await rejection(s.save('data/x', new Uint8Array(1)));
    expect(err.code).toBe(StorageErrorCode.Io);
    expect(err.retryable).toBe(false);
    expect(() => statSync(scratch.root)).toThrow();
    expect(isNotFound(await rejection(s.load('data/x')))).toBe(true);
    expect(await collect(s.list(''))).toEqual([]);
  });

  it('reserves .tmp- names and hides stray temp files from list', async () => {
    const s = await FsStorage.create(scratch.root);
    expect((await rejection(s.save('a/.tmp-x', new Uint8Array(1)))).code).toBe(StorageErrorCode.BadName);
    await s.save('a/real', new Uint8Array(2));
    writeFileSync(path.join(scratch.root, 'a', '.tmp-crashed'), 'partial');
    expect(await collect(s.list(''))).toEqual([{ name: 'a/real', size: 2 }]);
  });

  it('lists every object once across more directories and files than it reads at a time', async () => {
    const s = await FsStorage.create(scratch.root);
    const want: { name: string; size: number }[] = [];
    // 40 directories (more than are listed side by side) and one with 600 files (more than a batch).
    for (let d = 0; d < 40; d++) {
      const dir = path.join(scratch.root, 'data', d.toString(16).padStart(2, '0'));
      await nodeFs.mkdir(dir, { recursive: true });
      const n = d === 7 ? 600 : d % 3;
      for (let f = 0; f < n; f++) {
        const name = `data/${d.toString(16).padStart(2, '0')}/${f.toString(16).padStart(4, '0')}`;
        writeFileSync(path.join(scratch.root, name), Buffer.alloc((f % 5) + 1));
        want.push({ name, size: (f % 5) + 1 });
      }
    }
    await s.save('index/x', new Uint8Array(3));
    const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);
    expect((await collect(s.list('data/'))).sort(byName)).toEqual(want.sort(byName));
    expect((await collect(s.list('data/07/'))).length).toBe(600);
    expect((await collect(s.list(''))).length).toBe(want.length + 1);
  });

  it('fsyncs the temp file and the directory on save', async () => {
    const synced: string[] = [];
    const fs = fsWithHandles((file, _flags, fh) =>
      patchHandle(fh, {
        sync: async () => {
          synced.push(file);
          await fh.sync();
        },
      }),
    );
    const s = await FsStorage.create(scratch.root, { fs });
    synced.length = 0;
    await s.save('data/ab/x', new Uint8Array(3));
    const rel = synced.map((f) => path.relative(scratch.root, f));
    // In the root, where the sweep of stale temp files looks.
    expect(rel[0]).toMatch(/^\.tmp-[0-9a-f]+$/);
    // The object's directory, then the parents of the two directories created for it.
    expect(rel.slice(1)).toEqual(['data/ab', 'data', '']);
  });

  it('reads only the requested range', async () => {
    const reads: Array<{ position: unknown; length: unknown }> = [];
    const fs = fsWithHandles((_file, flags, fh) =>
      flags !== 'r'
        ? fh
        : patchHandle(fh, {
            readFile: () => Promise.reject(new Error('ranged load must not read the whole file')),
            read: (buf: Uint8Array, offset: number, length: number, position: number) => {
              reads.push({ position, length });
              return fh.read(buf, offset, length, position);
            },
          }),
    );
    const s = await FsStorage.create(scratch.root, { fs });
    const data = patternBytes(1 << 20, 3);
    await s.save('big', data);
    const got = await s.load('big', { offset: 500_000, length: 1000 });
    expect(Buffer.from(got).equals(Buffer.from(data.subarray(500_000, 501_000)))).toBe(true);
    expect(reads).toEqual([{ position: 500_000, length: 1000 }]);
  });

  it('maps a full disk to storage.no-space and changes nothing', async () => {
    const fs = fsWithHandles((file, _flags, fh) =>
      path.basename(file).startsWith('.tmp-') ? patchHandle(fh, { write: () => Promise.reject(sysError('ENOSPC')) }) : fh,
    );
    const healthy = await FsStorage.create(scratch.root);
    await healthy.save('obj', patternBytes(10, 1));
    const s = new FsStorage(scratch.root, { fs });
    const err = await rejection(s.save('obj', patternBytes(20, 2)));
    expect(err.code).toBe(StorageErrorCode.NoSpace);
    expect(err.retryable).toBe(false);
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(Buffer.from(await s.load('obj')).equals(Buffer.from(patternBytes(10, 1)))).toBe(true);
    expect(diskProblems(scratch.root)).toEqual([]);
  });

  it('marks transient errors retryable so withRetry recovers', async () => {
    let failures = 0;
    const fs: FsImpl = {
      ...nodeFs,
      stat: (async (...args: Parameters<typeof nodeFs.stat>) => {
        if (failures-- > 0) throw sysError('EBUSY');
        return nodeFs.stat(...args);
      }) as typeof nodeFs.stat,
    };
    const s = await FsStorage.create(scratch.root, { fs });
    await s.save('x', new Uint8Array(4));
    failures = 1;
    const err = await rejection(s.stat('x'));
    expect(err).toMatchObject({ code: StorageErrorCode.Io, retryable: true });
    failures = 1;
    expect(await withRetry(s, { baseDelayMs: 1 }).stat('x')).toEqual({ name: 'x', size: 4 });
  });

  it('keeps the synced temp file of a writer whose rename fails transiently, so its commit can be retried', async () => {
    let renames = 0;
    const fs: FsImpl = {
      ...nodeFs,
      rename: (async (...args: Parameters<typeof nodeFs.rename>) => {
        if (renames++ === 0) throw sysError('EBUSY');
        return nodeFs.rename(...args);
      }) as typeof nodeFs.rename,
    };
    const s = await FsStorage.create(scratch.root, { fs });
    const w = await s.writer();
    await w.write(patternBytes(100_000, 3));
    const err = await rejection(w.commit('data/ab/pack'));
    expect(err).toMatchObject({ code: StorageErrorCode.Io, retryable: true });
    await w.commit('data/ab/pack');
    expect(Buffer.from(await s.load('data/ab/pack')).equals(Buffer.from(patternBytes(100_000, 3)))).toBe(true);
    expect(diskProblems(scratch.root)).toEqual([]);
  });

  it('discards the temp file of a writer whose write failed, and its commit reports the failure', async () => {
    const fs = fsWithHandles((file, _flags, fh) =>
      path.basename(file).startsWith('.tmp-') ? patchHandle(fh, { write: () => Promise.reject(sysError('EIO')) }) : fh,
    );
    const s = await FsStorage.create(scratch.root, { fs });
    const w = await s.writer();
    expect((await rejection(w.write(patternBytes(10, 1)))).code).toBe(StorageErrorCode.Io);
    expect((await rejection(w.commit('obj'))).code).toBe(StorageErrorCode.Io);
    await expect(s.stat('obj')).rejects.toMatchObject({ code: StorageErrorCode.NotFound });
    expect(diskProblems(scratch.root)).toEqual([]);
  });

  it.each(['writer', 'save'] as const)('deletes temp files a crashed writer left in the root a day ago, at the next %s, and keeps recent ones', async (first) => {
    const s = await FsStorage.create(scratch.root);
    const old = path.join(scratch.root, '.tmp-crashed-yesterday');
    const recent = path.join(scratch.root, '.tmp-being-written');
    writeFileSync(old, 'partial pack');
    writeFileSync(recent, 'partial pack');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await nodeFs.utimes(old, twoDaysAgo, twoDaysAgo);
    if (first === 'writer') await (await s.writer()).abort();
    else await s.save('index/ab', new Uint8Array(1));
    await vi.waitFor(() => expect(existsSync(old)).toBe(false));
    expect(existsSync(recent)).toBe(true);
  });
});

describe('mapFsError', () => {
  it.each([
    ['ENOENT', StorageErrorCode.NotFound, false],
    ['ENOTDIR', StorageErrorCode.NotFound, false],
    ['ENOSPC', StorageErrorCode.NoSpace, false],
    ['EDQUOT', StorageErrorCode.NoSpace, false],
    ['EAGAIN', StorageErrorCode.Io, true],
    ['EBUSY', StorageErrorCode.Io, true],
    ['EMFILE', StorageErrorCode.Io, true],
    ['ENFILE', StorageErrorCode.Io, true],
    ['EINTR', StorageErrorCode.Io, true],
    ['EACCES', StorageErrorCode.Io, false],
    ['EIO', StorageErrorCode.Io, false],
    ['EROFS', StorageErrorCode.Io, false],
  ])('maps %s to %s (retryable %s), keeping the cause', (errno, code, retryable) => {
    const cause = sysError(errno);
    const err = mapFsError(cause, 'data/x', 'file:///r');
    expect(err).toBeInstanceOf(StorageError);
    expect(err).toMatchObject({ code, retryable });
    expect(err.cause).toBe(cause);
    expect(err.details.name).toBe('data/x');
  });

  it('tells the user the disk is full and nothing changed', () => {
    expect(mapFsError(sysError('ENOSPC'), 'x').message).toMatch(/full.*Nothing was changed/s);
  });

  it('passes StorageErrors through and wraps non-errno errors as storage.io', () => {
    const storageErr = new StorageError(StorageErrorCode.Range, 'r');
    expect(mapFsError(storageErr, 'x')).toBe(storageErr);
    expect(mapFsError(new Error('odd'), 'x')).toMatchObject({ code: StorageErrorCode.Io, retryable: false });
    expect(mapFsError('a string', 'x').code).toBe(StorageErrorCode.Io);
  });
});
