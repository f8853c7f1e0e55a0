/**
 * Counting semaphore with FIFO hand-off.
 *
 * acquire() resolves with a release function once one of `permits` slots is
 * free; calling release more than once is harmless, so it can sit in a
 * `finally` without bookkeeping. A released slot goes straight to the oldest
 * waiter, so a stream of new callers cannot starve it.
 */
export class Semaphore {
  #available: number;
  readonly #waiters: Array<() => void> = [];

  constructor(permits: number) {
    if (!Number.isInteger(permits) || permits < 1) {
      throw new RangeError(`a semaphore needs a positive integer number of permits, got ${permits}`);
    }
    this.#available = permits;
  }

  /** Free slots right now. */
  get available(): number {
    return this.#available;
  }

  /** Callers waiting for a slot. */
  get waiting(): number {
    return this.#waiters.length;
  }

  acquire(): Promise<() => void> {
    if (this.#available > 0) {
      this.#available--;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve) => {
      this.#waiters.push(() => resolve(this.#releaser()));
    });
  }

  /** Runs `fn` holding a slot, releasing it however `fn` ends. */
  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) next();
      else this.#available++;
    };
  }
}
