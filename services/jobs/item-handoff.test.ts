import { describe, expect, it } from 'vitest';
import { HANDOFF_CLOSED, ItemHandoff } from './item-handoff.ts';

/** A producer that appends `n` numbers, handing off every `every`, and records how far it got. */
function counter(h: ItemHandoff<number>, n: number, every: number, progress: { made: number; unwound?: unknown }) {
  return async () => {
    try {
      for (let i = 0; i < n; i++) {
        h.items.push(i);
        progress.made = i + 1;
        if ((i + 1) % every === 0) await h.handOff();
      }
    } catch (err) {
      progress.unwound = err;
      throw err;
    }
  };
}

describe('ItemHandoff', () => {
  it('delivers every item in order, in the arrays handed off plus the rest at the end', async () => {
    const h = new ItemHandoff<number>();
    const progress = { made: 0 };
    const arrays: number[][] = [];
    for await (const a of h.run(counter(h, 10, 4, progress))) arrays.push(a);
    expect(arrays).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  });

  it('holds the producer at a hand-off until the consumer asks for more', async () => {
    const h = new ItemHandoff<number>();
    const progress = { made: 0 };
    const it = h.run(counter(h, 100, 5, progress))[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual([0, 1, 2, 3, 4]);
    await new Promise((r) => setTimeout(r, 10));
    expect(progress.made).toBe(5); // still waiting for the consumer
    expect((await it.next()).value).toEqual([5, 6, 7, 8, 9]);
    await it.return?.(undefined);
  });

  it('makes the producer unwind when the consumer stops early, and waits for it', async () => {
    const h = new ItemHandoff<number>();
    const progress: { made: number; unwound?: unknown } = { made: 0 };
    for await (const a of h.run(counter(h, 1000, 3, progress))) if (a[0] === 3) break;
    expect(progress.unwound).toBe(HANDOFF_CLOSED);
    expect(progress.made).toBe(6);
    await expect(h.handOff()).rejects.toBe(HANDOFF_CLOSED);
  });

  it('gives the consumer the items handed off before a failure, then the failure', async () => {
    const h = new ItemHandoff<number>();
    const seen: number[][] = [];
    const consume = async () => {
      for await (const a of h.run(async () => {
        h.items.push(1, 2);
        await h.handOff();
        h.items.push(3);
        throw new Error('disk gone');
      })) seen.push(a);
    };
    await expect(consume()).rejects.toThrow('disk gone');
    expect(seen).toEqual([[1, 2]]);
  });

  it('does not hand off an empty array', async () => {
    const h = new ItemHandoff<number>();
    const arrays: number[][] = [];
    for await (const a of h.run(async () => {
      await h.handOff();
      h.items.push(7);
      await h.handOff();
      await h.handOff();
    })) arrays.push(a);
    expect(arrays).toEqual([[7]]);
  });
});
