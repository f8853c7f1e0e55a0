import { describe, expect, it } from 'vitest';
import { mergeAsync } from './merge-async.ts';

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('mergeAsync', () => {
  it('yields every item once, each source in its own order, with at most `width` sources open', async () => {
    let open = 0;
    let maxOpen = 0;
    async function* source(tag: string, n: number, delay: number) {
      open++;
      maxOpen = Math.max(maxOpen, open);
      try {
        for (let i = 0; i < n; i++) {
          for (let d = 0; d < delay; d++) await tick();
          yield `${tag}${i}`;
        }
      } finally {
        open--;
      }
    }
    const sources = Array.from({ length: 10 }, (_, k) => source(String.fromCharCode(97 + k), 3 + (k % 4), k % 3));
    const out: string[] = [];
    for await (const x of mergeAsync(sources, 3)) out.push(x);
    expect(maxOpen).toBe(3);
    expect(open).toBe(0);
    for (let k = 0; k < 10; k++) {
      const tag = String.fromCharCode(97 + k);
      expect(out.filter((x) => x.startsWith(tag))).toEqual(Array.from({ length: 3 + (k % 4) }, (_, i) => `${tag}${i}`));
    }
    expect(out.length).toBe([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].reduce((s, k) => s + 3 + (k % 4), 0));
  });

  it('interleaves: a fast source is not held back by a slow one', async () => {
    async function* slow() {
      for (let d = 0; d < 20; d++) await tick();
      yield 'slow';
    }
    async function* fast() {
      yield 'fast1';
      yield 'fast2';
    }
    const out: string[] = [];
    for await (const x of mergeAsync([slow(), fast()], 2)) out.push(x);
    expect(out).toEqual(['fast1', 'fast2', 'slow']);
  });

  it('propagates a source error and closes the other open sources', async () => {
    let closed = 0;
    async function* endless() {
      try {
        for (;;) {
          await tick();
          yield 1;
        }
      } finally {
        closed++;
      }
    }
    async function* failing() {
      await tick();
      throw new Error('disk gone');
    }
    await expect((async () => {
      for await (const _ of mergeAsync([endless(), failing(), endless()], 3)) void _;
    })()).rejects.toThrow('disk gone');
    expect(closed).toBe(2);
  });

  it('closes the open sources when the consumer stops early, and starts no more', async () => {
    const started: number[] = [];
    let closed = 0;
    async function* source(k: number) {
      started.push(k);
      try {
        for (let i = 0; ; i++) yield k * 100 + i;
      } finally {
        closed++;
      }
    }
    const sources = [0, 1, 2, 3].map(source);
    for await (const x of mergeAsync(sources, 2)) if (x >= 0) break;
    expect(started).toEqual([0, 1]);
    expect(closed).toBe(2);
  });

  it('rejects a width below 1', async () => {
    await expect(mergeAsync([], 0).next()).rejects.toThrow(RangeError);
  });
});
