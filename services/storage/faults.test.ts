import { describe, expect, it } from 'vitest';
import { collect, rejection } from './conformance.ts';
import { withFaults } from './faults.ts';
import { MemoryStorage } from './memory.ts';
import { StorageErrorCode } from './storage.ts';

/** Which of `count` stats fail, as a string of x (fault) and . (ok). */
async function pattern(seed: number, count = 40): Promise<string> {
  const inner = new MemoryStorage();
  await inner.save('k', new Uint8Array(1));
  const s = withFaults(inner, { seed, failBefore: 0.3 });
  let out = '';
  for (let i = 0; i < count; i++) out += await s.stat('k').then(() => '.', () => 'x');
  return out;
}

describe('withFaults', () => {
  it('is deterministic for a seed and varies across seeds', async () => {
    const a = await pattern(1);
    expect(await pattern(1)).toBe(a);
    expect(await pattern(2)).not.toBe(a);
    expect(a).toContain('x');
    expect(a).toContain('.');
  });

  it('fails before the call with retryable storage.fault, changing nothing', async () => {
    const inner = new MemoryStorage();
    const s = withFaults(inner, { failBefore: 1 });
    const err = await rejection(s.save('a', new Uint8Array(1)));
    expect(err).toMatchObject({ code: StorageErrorCode.Fault, retryable: true });
    expect(await collect(inner.list(''))).toEqual([]);
    expect((await rejection(collect(s.list('')))).code).toBe(StorageErrorCode.Fault);
    expect(s.faults).toMatchObject({ before: 2, afterSave: 0 });
  });

  it('can fail a save after the whole write, like a lost response', async () => {
    const inner = new MemoryStorage();
    const s = withFaults(inner, { failAfterSave: 1 });
    const data = new Uint8Array([1, 2, 3]);
    expect((await rejection(s.save('a', data))).code).toBe(StorageErrorCode.Fault);
    expect([...(await inner.load('a'))]).toEqual([1, 2, 3]);
    expect(s.faults.afterSave).toBe(1);
  });

  it('fails chosen names always, by set or predicate', async () => {
    const inner = new MemoryStorage();
    await inner.save('bad', new Uint8Array(1));
    await inner.save('good', new Uint8Array(1));
    const bySet = withFaults(inner, { failNames: ['bad'] });
    expect((await rejection(bySet.load('bad'))).code).toBe(StorageErrorCode.Fault);
    expect((await rejection(bySet.load('bad'))).code).toBe(StorageErrorCode.Fault);
    expect((await bySet.load('good')).length).toBe(1);
    const byPredicate = withFaults(inner, { failNames: (name, op) => op === 'remove' && name.startsWith('g') });
    expect((await rejection(byPredicate.remove('good'))).code).toBe(StorageErrorCode.Fault);
    expect((await byPredicate.stat('good')).size).toBe(1);
    expect(byPredicate.faults.named).toBe(1);
  });

  it('rejects rates outside [0, 1]', () => {
    expect(() => withFaults(new MemoryStorage(), { failBefore: 1.5 })).toThrow(RangeError);
    expect(() => withFaults(new MemoryStorage(), { failAfterSave: Number.NaN })).toThrow(RangeError);
  });
});
