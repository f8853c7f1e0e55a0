/**
 * Hands arrays of items from one producer to one consumer with
 * back-pressure: the producer appends to `items` synchronously and awaits
 * `handOff()` at points of its choosing, which suspends it until the
 * consumer has asked for the next array. So a producer that is a deep
 * recursion of async functions (the walk) delivers straight from whatever
 * depth it is at, instead of re-yielding each array through one async
 * generator per level of depth (a promise, an iterator result and a resumed
 * frame per level: about 1.5 KB per array and level, most of the walk's
 * allocations).
 *
 * Contract: one producer, one consumer. If the consumer stops early,
 * the producer's pending and later handOff() calls throw HANDOFF_CLOSED,
 * which `run` swallows; any other error of the producer reaches the
 * consumer after the items handed off before it.
 */
export const HANDOFF_CLOSED: unique symbol = Symbol('handoff closed');

export class ItemHandoff<T> {
  /** Items produced since the last hand-off, in order. */
  items: T[] = [];
  private wakeConsumer: (() => void) | undefined;
  private resumeProducer: (() => void) | undefined;
  private ready: T[] | undefined;
  private closed = false;

  /** Gives the consumer the items gathered so far (if any) and waits until it wants more. */
  async handOff(): Promise<void> {
    if (this.closed) throw HANDOFF_CLOSED;
    if (this.items.length === 0) return;
    this.ready = this.items;
    this.items = [];
    const wake = this.wakeConsumer;
    this.wakeConsumer = undefined;
    await new Promise<void>((resolve) => {
      this.resumeProducer = resolve;
      wake?.();
    });
    if (this.closed) throw HANDOFF_CLOSED;
  }

  /** Runs `produce`, yielding each array it hands off and, at its end, what it left in `items`. */
  async *run(produce: () => Promise<void>): AsyncGenerator<T[]> {
    let finished = false;
    let failure: { error: unknown } | undefined;
    const done = produce().then(
      () => void (finished = true),
      (error: unknown) => {
        finished = true;
        if (error !== HANDOFF_CLOSED) failure = { error };
      },
    );
    try {
      for (;;) {
        while (this.ready === undefined && !finished) {
          await Promise.race([done, new Promise<void>((resolve) => (this.wakeConsumer = resolve))]);
        }
        if (this.ready !== undefined) {
          const batch = this.ready;
          this.ready = undefined;
          yield batch;
          const resume = this.resumeProducer;
          this.resumeProducer = undefined;
          resume?.();
          continue;
        }
        if (failure) throw failure.error;
        if (this.items.length > 0) {
          const rest = this.items;
          this.items = [];
          yield rest;
        }
        return;
      }
    } finally {
      if (!finished) {
        // The consumer stopped early: let the producer unwind at its next hand-off.
        this.closed = true;
        const resume = this.resumeProducer;
        this.resumeProducer = undefined;
        resume?.();
        await done;
      }
    }
  }
}
