import { describe, expect, it } from 'vitest';
import { Semaphore } from './semaphore.ts';

describe('Semaphore', () => {
  it('hands slots to waiters in arrival order', async () => {
    const sem = new Semaphore(1);
    const release = await sem.acquire();
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) => sem.acquire().then((r) => (order.push(n), r)));
    expect(sem.waiting).toBe(3);
    release();
    for (const w of waiters) (await w)();
    expect(order).toEqual([1, 2, 3]);
    expect(sem.available).toBe(1);
  });

  it('ignores a second release of the same slot', async () => {
    const sem = new Semaphore(2);
    const release = await sem.acquire();
    release();
    release();
    expect(sem.available).toBe(2);
  });

  it('run() releases the slot even when fn throws', async () => {
    const sem = new Semaphore(1);
    await expect(sem.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(sem.available).toBe(1);
    expect(await sem.run(() => 42)).toBe(42);
  });

  it('rejects a bad permit count', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});
