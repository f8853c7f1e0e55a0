/**
 * The Storage contract (see storage.ts) as a reusable vitest suite. Every
 * driver and wrapper stack runs it:
 *
 *   describeStorageConformance('fs', async () => ({ storage, cleanup }));
 *
 * Each test gets a fresh, empty storage from `makeStorage` and calls
 * `cleanup` afterwards, which may itself assert on leftovers (temp files,
 * modes). Errors are checked by `.code` and `isNotFound`, never by message.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isNotFound, StorageErrorCode, type Storage } from './storage.ts';
import { describeWriterConformance } from './conformance-writer.ts';
import { collect, patternBytes, rejection, sameBytes } from './conformance-helpers.ts';

export interface StorageFixture {
  readonly storage: Storage;
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;

export { collect, patternBytes, rejection, sameBytes } from './conformance-helpers.ts';

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const err = await rejection(p);
  expect(err.code).toBe(code);
  expect(err.retryable).toBe(false);
}

async function expectNotFound(p: Promise<unknown>): Promise<void> {
  const err = await rejection(p);
  expect(isNotFound(err)).toBe(true);
  expect(err.retryable).toBe(false);
}

async function inBatches(count: number, batch: number, fn: (i: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < count; start += batch) {
    const jobs: Promise<void>[] = [];
    for (let i = start; i < Math.min(count, start + batch); i++) jobs.push(fn(i));
    await Promise.all(jobs);
  }
}

export function describeStorageConformance(label: string, makeStorage: () => Promise<StorageFixture>): void {
  describe(`Storage contract: ${label}`, () => {
    let fixture: StorageFixture | undefined;
    let s: Storage;

    beforeEach(async () => {
      fixture = await makeStorage();
      s = fixture.storage;
    });

    afterEach(async () => {
      const f = fixture;
      fixture = undefined;
      await f?.cleanup();
    });

    describe('save and load', () => {
      it.each([
        ['empty', 0],
        ['1 byte', 1],
        ['5 MiB', 5 * MiB],
      ])('round-trips an object of %s', async (_label, size) => {
        const data = patternBytes(size, size + 7);
        await s.save('data/ab/object', data);
        const got = await s.load('data/ab/object');
        expect(got.length).toBe(size);
        expect(sameBytes(got, data)).toBe(true);
      });

      it('keeps stored bytes apart from caller buffers', async () => {
        const input = Buffer.from('original');
        await s.save('k', input);
        input.fill(0);
        const first = await s.load('k');
        first.fill(0);
        expect(Buffer.from(await s.load('k')).toString()).toBe('original');
      });

      it('replaces the whole object on overwrite, shrinking or growing', async () => {
        await s.save('o', patternBytes(1000, 1));
        await s.save('o', patternBytes(10, 2));
        expect(sameBytes(await s.load('o'), patternBytes(10, 2))).toBe(true);
        expect((await s.stat('o')).size).toBe(10);
        await s.save('o', patternBytes(3000, 3));
        expect(sameBytes(await s.load('o'), patternBytes(3000, 3))).toBe(true);
      });

      it('rewrites identical bytes idempotently, even concurrently', async () => {
        const data = patternBytes(64 * 1024, 5);
        await Promise.all(Array.from({ length: 8 }, () => s.save('same', data)));
        expect(sameBytes(await s.load('same'), data)).toBe(true);
      });

      it('reports a missing object as not-found', async () => {
        await expectNotFound(s.load('missing'));
        await expectNotFound(s.load('no/such/dir/object'));
      });
    });

    describe('ranged load', () => {
      const data = patternBytes(4096, 9);
      const cases: Array<[string, number, number]> = [
        ['start', 0, 100],
        ['middle', 1000, 1500],
        ['end', 4000, 96],
        ['whole', 0, 4096],
        ['zero-length at start', 0, 0],
        ['zero-length in the middle', 2048, 0],
        ['zero-length at the end', 4096, 0],
      ];
      it.each(cases)('reads the %s', async (_label, offset, length) => {
        await s.save('r', data);
        const got = await s.load('r', { offset, length });
        expect(got.length).toBe(length);
        expect(sameBytes(got, data.subarray(offset, offset + length))).toBe(true);
      });

      it('rejects ranges past the end with storage.range', async () => {
        await s.save('r', data);
        await s.save('empty', new Uint8Array(0));
        await expectCode(s.load('r', { offset: 4000, length: 97 }), StorageErrorCode.Range);
        await expectCode(s.load('r', { offset: 4097, length: 0 }), StorageErrorCode.Range);
        await expectCode(s.load('r', { offset: 5000, length: 1 }), StorageErrorCode.Range);
        await expectCode(s.load('r', { offset: -1, length: 1 }), StorageErrorCode.Range);
        await expectCode(s.load('empty', { offset: 0, length: 1 }), StorageErrorCode.Range);
      });

      it('reports a ranged load of a missing object as not-found', async () => {
        await expectNotFound(s.load('missing', { offset: 0, length: 1 }));
      });
    });

    describe('stat', () => {
      it('reports name and exact size', async () => {
        for (const size of [0, 1, 1000, 65537]) {
          await s.save(`sized/${size}`, patternBytes(size));
          expect(await s.stat(`sized/${size}`)).toEqual({ name: `sized/${size}`, size });
        }
      });

      it('reports a missing object as not-found', async () => {
        await expectNotFound(s.stat('missing'));
        // A "directory" that only exists because of deeper names is not an object.
        await s.save('dir/child', new Uint8Array(1));
        await expectNotFound(s.stat('dir'));
        await expectNotFound(s.load('dir'));
      });
    });

    describe('list', () => {
      const objects: Record<string, number> = {
        config: 11,
        'data/ab/ab01': 1,
        'data/ab/ab02': 2,
        'data/ac/ac01': 3,
        'data/cd/cd01': 0,
        data2: 5,
        'index/one': 6,
        'index/deep/er/two': 7,
      };

      async function seed(): Promise<void> {
        await Promise.all(Object.entries(objects).map(([name, size]) => s.save(name, patternBytes(size))));
      }

      async function names(prefix: string): Promise<string[]> {
        const items = await collect(s.list(prefix));
        for (const item of items) expect(item.size).toBe(objects[item.name]);
        return items.map((i) => i.name).sort();
      }

      it.each([
        ['', Object.keys(objects)],
        ['data/', ['data/ab/ab01', 'data/ab/ab02', 'data/ac/ac01', 'data/cd/cd01']],
        ['data/a', ['data/ab/ab01', 'data/ab/ab02', 'data/ac/ac01']],
        ['data/ab/', ['data/ab/ab01', 'data/ab/ab02']],
        ['data/ab/ab01', ['data/ab/ab01']],
        ['data', ['data/ab/ab01', 'data/ab/ab02', 'data/ac/ac01', 'data/cd/cd01', 'data2']],
        ['index/', ['index/deep/er/two', 'index/one']],
        ['c', ['config']],
        ['nope/', []],
        ['zzz', []],
        ['data/ab/ab01x', []],
      ])('lists prefix %j', async (prefix, expected) => {
        await seed();
        expect(await names(prefix)).toEqual([...expected].sort());
      });

      it('lists nothing in an empty store', async () => {
        expect(await collect(s.list(''))).toEqual([]);
      });

      it('yields each of many objects exactly once', async () => {
        const count = 1600;
        const name = (i: number): string => `many/${(i % 16).toString(16)}/${i.toString().padStart(5, '0')}`;
        await inBatches(count, 50, (i) => s.save(name(i), patternBytes(i % 7, i)));
        const seen = new Map<string, number>();
        for await (const item of s.list('many/')) {
          expect(seen.has(item.name)).toBe(false);
          seen.set(item.name, item.size);
        }
        expect(seen.size).toBe(count);
        for (let i = 0; i < count; i++) expect(seen.get(name(i))).toBe(i % 7);
        expect((await collect(s.list('many/a/'))).length).toBe(count / 16);
      });

      it('sees saves and removals at once', async () => {
        await s.save('fresh/one', new Uint8Array(3));
        expect(await collect(s.list('fresh/'))).toEqual([{ name: 'fresh/one', size: 3 }]);
        await s.remove('fresh/one');
        expect(await collect(s.list('fresh/'))).toEqual([]);
      });

      it('allows other operations while a listing is open, and early exit', async () => {
        await seed();
        for await (const item of s.list('data/')) {
          expect((await s.load(item.name)).length).toBe(item.size);
        }
        for await (const _item of s.list('')) break;
        expect((await collect(s.list(''))).length).toBe(Object.keys(objects).length);
      });
    });

    describe('remove', () => {
      it('makes the object not-found everywhere, leaving others alone', async () => {
        await s.save('gone/x', patternBytes(10));
        await s.save('gone/y', patternBytes(20));
        await s.remove('gone/x');
        await expectNotFound(s.load('gone/x'));
        await expectNotFound(s.load('gone/x', { offset: 0, length: 1 }));
        await expectNotFound(s.stat('gone/x'));
        await expectNotFound(s.remove('gone/x'));
        expect(await collect(s.list('gone/'))).toEqual([{ name: 'gone/y', size: 20 }]);
        await s.save('gone/x', patternBytes(5));
        expect((await s.stat('gone/x')).size).toBe(5);
      });

      it('reports a missing object as not-found', async () => {
        await expectNotFound(s.remove('never-saved'));
      });
    });

    describe('names', () => {
      const bad = ['/abs', 'a/../b', '..', 'a//b', '', 'a\\b', 'a/', './a', 'a/./b', 'nul\0byte'];

      it.each(bad)('rejects bad name %j with storage.bad-name', async (name) => {
        await expectCode(s.save(name, new Uint8Array(1)), StorageErrorCode.BadName);
        await expectCode(s.load(name), StorageErrorCode.BadName);
        await expectCode(s.stat(name), StorageErrorCode.BadName);
        await expectCode(s.remove(name), StorageErrorCode.BadName);
      });

      it.each(['/', '/abs', '../', 'a/../', 'a//', 'a\\'])('rejects list prefix %j with storage.bad-name', async (prefix) => {
        await expectCode(collect(s.list(prefix)), StorageErrorCode.BadName);
      });

      it('accepts names with dots and dashes inside segments', async () => {
        for (const name of ['a.b', '.hidden', '..x/y', 'x/..y', 'snap-2024.01', 'a b']) {
          await s.save(name, Buffer.from(name));
          expect(Buffer.from(await s.load(name)).toString()).toBe(name);
        }
      });
    });

    describe('concurrency', () => {
      it('saves many different names concurrently', async () => {
        const names = Array.from({ length: 64 }, (_, i) => `par/${i % 4}/${i}`);
        await Promise.all(names.map((n, i) => s.save(n, patternBytes(1000 + i, i))));
        await Promise.all(names.map(async (n, i) => expect(sameBytes(await s.load(n), patternBytes(1000 + i, i))).toBe(true)));
        expect((await collect(s.list('par/'))).length).toBe(64);
      });

      it('lets a reader see the old or the new object whole during an overwrite', async () => {
        const size = 4 * MiB;
        const versions = [patternBytes(size, 1), patternBytes(size, 2)];
        await s.save('atomic', versions[0] ?? new Uint8Array());
        let reads = 0;
        for (let round = 1; round <= 4; round++) {
          let saving = true;
          const write = s.save('atomic', versions[round % 2] ?? new Uint8Array()).finally(() => {
            saving = false;
          });
          do {
            const got = await s.load('atomic');
            reads++;
            expect(got.length).toBe(size);
            expect(versions.some((v) => sameBytes(v, got))).toBe(true);
          } while (saving);
          await write;
        }
        expect(reads).toBeGreaterThanOrEqual(4);
        expect(sameBytes(await s.load('atomic'), versions[0] ?? new Uint8Array())).toBe(true);
      });

      it('settles concurrent saves of one name on one whole version', async () => {
        const versions = [1, 2, 3, 4].map((seed) => patternBytes(256 * 1024, seed));
        await Promise.all(versions.map((v) => s.save('race', v)));
        const got = await s.load('race');
        expect(versions.some((v) => sameBytes(v, got))).toBe(true);
      });
    });

    describeWriterConformance(() => s);

    describe('close', () => {
      it('can be called twice, and later calls fail with storage.closed', async () => {
        await s.save('c', new Uint8Array(1));
        await s.close();
        await s.close();
        await expectCode(s.load('c'), StorageErrorCode.Closed);
        await expectCode(s.save('c', new Uint8Array(1)), StorageErrorCode.Closed);
        await expectCode(collect(s.list('')), StorageErrorCode.Closed);
      });
    });
  });
}
