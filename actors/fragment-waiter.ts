/**
 * Wakes the finalizer when a job's fragment is recorded, instead of at its
 * next poll. Before, the finalizer polled each missing fragment with a
 * doubling wait of up to a second, so after a long batch (a large file at
 * the end of a first backup) it found the last fragment up to a second
 * after the uploader had put it, while the job sat idle.
 *
 * One KV watch on the job's keys, headers only: the watch says which
 * fragments exist, and the finalizer reads each value when it wants it, so
 * a finalizer that resumes behind thousands of recorded fragments does not
 * hold them all in memory.
 */
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/nats-core';

export class FragmentWaiter {
  readonly #watch: QueuedIterator<KvWatchEntry>;
  /** Sequence numbers of the fragments put since the watch started (or present then), from the lowest still awaited. */
  readonly #seen = new Set<number>();
  /** Fragments below this were read: the finalizer waits for them in order. */
  #floor = 0;
  #waiting: { seq: number; wake: () => void } | undefined;
  #closed = false;

  private constructor(watch: QueuedIterator<KvWatchEntry>) {
    this.#watch = watch;
    void this.#follow();
  }

  /** Watches the fragments of job `jobId` of `tenant`, whose keys are `<tenant>.<jobId>.<seq>` (deps.ts). */
  static async open(kv: KV, tenant: string, jobId: string): Promise<FragmentWaiter> {
    return new FragmentWaiter(await kv.watch({ key: `${tenant}.${jobId}.*`, headers_only: true }));
  }

  /**
   * Resolves once fragment `seq` has been put, at once if it was already,
   * or after `ms` in any case: the caller reads it again either way, and
   * uses the timeout to send heartbeats and notice a shutdown. Fragments
   * are awaited in order: asking for `seq` forgets those before it.
   */
  arrived(seq: number, ms: number): Promise<void> {
    if (seq > this.#floor) {
      this.#floor = seq;
      for (const s of this.#seen) if (s < seq) this.#seen.delete(s);
    }
    if (this.#seen.has(seq) || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      this.#waiting = { seq, wake: done };
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  /** Stops the watch. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch.stop();
    this.#waiting?.wake();
  }

  async #follow(): Promise<void> {
    try {
      for await (const e of this.#watch) {
        const seq = Number(e.key.slice(e.key.lastIndexOf('.') + 1));
        if (e.operation !== 'PUT' || !Number.isSafeInteger(seq) || seq < this.#floor) continue;
        this.#seen.add(seq);
        if (this.#waiting?.seq === seq) this.#waiting.wake();
      }
    } catch {
      // A watch that fails leaves the caller its timeout: it polls, as before.
    }
  }
}
