/**
 * Interleaves async iterables, pulling from up to `width` of them at once
 * and yielding each item as soon as any source has one. Sources start in
 * order as earlier ones finish, so at most `width` are open at a time.
 * Items of one source keep their order; across sources there is none.
 * If a source throws, the others are closed and the error propagates; an
 * early return by the consumer closes every open source.
 */
export async function* mergeAsync<T>(sources: Iterable<AsyncIterable<T>>, width: number): AsyncGenerator<T> {
  if (!Number.isSafeInteger(width) || width < 1) throw new RangeError(`mergeAsync width must be a positive integer, got ${width}`);
  type Pending = { readonly iter: AsyncIterator<T>; next: Promise<{ readonly key: number; readonly r: IteratorResult<T> }> };
  const waiting = sources[Symbol.iterator]();
  const open = new Map<number, Pending>();
  let nextKey = 0;
  const pull = (key: number, iter: AsyncIterator<T>) => iter.next().then((r) => ({ key, r }));
  const startOne = (): boolean => {
    const n = waiting.next();
    if (n.done === true) return false;
    const key = nextKey++;
    const iter = n.value[Symbol.asyncIterator]();
    open.set(key, { iter, next: pull(key, iter) });
    return true;
  };
  try {
    while (open.size < width && startOne());
    while (open.size > 0) {
      const { key, r } = await Promise.race([...open.values()].map((p) => p.next));
      const p = open.get(key)!;
      if (r.done === true) {
        open.delete(key);
        startOne();
        continue;
      }
      p.next = pull(key, p.iter);
      yield r.value;
    }
  } finally {
    const closing = [...open.values()];
    open.clear();
    // A source still has a next() in flight; it is told to stop and its outcome ignored.
    for (const p of closing) p.next.catch(() => {});
    await Promise.all(closing.map((p) => Promise.resolve(p.iter.return?.()).catch(() => {})));
  }
}
