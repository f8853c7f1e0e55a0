import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { collect, describeStorageConformance } from './conformance.ts';
import { makeFsFixture } from './fs-fixture.ts';
import { withConcurrencyLimit } from './limit.ts';
import { MemoryStorage } from './memory.ts';
import type { ObjectInfo } from './storage.ts';
import { stubStorage } from './stub.ts';

describeStorageConformance('withConcurrencyLimit(FsStorage, 2)', () => makeFsFixture((fs) => withConcurrencyLimit(fs, 2)));

describe('withConcurrencyLimit', () => {
  it('never has more than n operations in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const tracked = async <T>(fn: () => Promise<T>): Promise<T> => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      try {
        await sleep(1 + Math.floor(Math.random() * 3));
        return await fn();
      } finally {
        inFlight--;
      }
    };
    const inner = new MemoryStorage();
    const s = withConcurrencyLimit(
      stubStorage({
        save: (n, d) => tracked(() => inner.save(n, d)),
        load: (n, r) => tracked(() => inner.load(n, r)),
        stat: (n) => tracked(() => inner.stat(n)),
        async *list(prefix) {
          for await (const item of inner.list(prefix)) yield await tracked(async () => item);
        },
      }),
      3,
    );
    await Promise.all(Array.from({ length: 30 }, (_, i) => s.save(`k/${i}`, new Uint8Array(i))));
    expect(peak).toBe(3);
    peak = 0;
    const lists = Array.from({ length: 4 }, () => collect(s.list('k/')));
    const reads = Array.from({ length: 30 }, (_, i) => (i % 2 ? s.load(`k/${i}`) : s.stat(`k/${i}`)));
    await Promise.all([...lists, ...reads]);
    expect(peak).toBe(3);
    expect(inFlight).toBe(0);
  });

  it('does not deadlock when a caller works on each listed object (n = 1)', async () => {
    const s = withConcurrencyLimit(new MemoryStorage(), 1);
    for (let i = 0; i < 5; i++) await s.save(`x/${i}`, new Uint8Array(i));
    const sizes: number[] = [];
    for await (const item of s.list('x/')) sizes.push((await s.load(item.name)).length);
    expect(sizes.sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('closes the inner listing when the caller stops early', async () => {
    let closed = false;
    const s = withConcurrencyLimit(
      stubStorage({
        async *list(): AsyncGenerator<ObjectInfo> {
          try {
            for (let i = 0; ; i++) yield { name: `n${i}`, size: 0 };
          } finally {
            closed = true;
          }
        },
      }),
      2,
    );
    for await (const _item of s.list('')) break;
    expect(closed).toBe(true);
  });

  it('rejects a limit that is not a positive integer', () => {
    expect(() => withConcurrencyLimit(new MemoryStorage(), 0)).toThrow(RangeError);
    expect(() => withConcurrencyLimit(new MemoryStorage(), 1.5)).toThrow(RangeError);
  });
});
