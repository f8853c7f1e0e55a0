/**
 * Wakes the finalizer when a job's fragment is recorded, instead of at its
 * next poll. Before, the finalizer polled each missing fragment with a
 * doubling wait of up to a second, so after a long batch (a large file at
 * the end of a first backup) it found the last fragment up to a second
 * after the uploader had put it, while the job sat idle.
 *
 * One KV watch on the job's keys, headers only: the watch says which
 * fragments exist, and the finalizer reads each value when it wants it, so
 * a finalizer that resumes behind thousands of recorded fragments holds
 * their keys, not their values, and forgets each key once it has read it.
 */
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/nats-core';

export class FragmentWaiter {
  readonly #watch: QueuedIterator<KvWatchEntry>;
  /** Keys of the fragments put since the watch started (or present then) and not yet forgotten. */
  readonly #seen = new Set<string>();
  #waiting: { key: string; wake: () => void } | undefined;
  #closed = false;

  private constructor(watch: QueuedIterator<KvWatchEntry>) {
    this.#watch = watch;
    void this.#follow();
  }

  /** Watches the fragments of job `jobId` of `tenant`, whose keys are `<tenant>.<jobId>.<name>` (deps.ts). */
  static async open(kv: KV, tenant: string, jobId: string): Promise<FragmentWaiter> {
    return new FragmentWaiter(await kv.watch({ key: `${tenant}.${jobId}.*`, headers_only: true }));
  }

  /**
   * Resolves once the fragment under `key` has been put, at once if it was
   * already, or after `ms` in any case: the caller reads it again either
   * way, and uses the timeout to send heartbeats and notice a shutdown.
   */
  arrived(key: string, ms: number): Promise<void> {
    if (this.#seen.has(key) || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      this.#waiting = { key, wake: done };
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  /** The caller has read the fragment under `key`: the waiter need not remember it. */
  forget(key: string): void {
    this.#seen.delete(key);
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
        if (e.operation !== 'PUT') continue;
        this.#seen.add(e.key);
        if (this.#waiting?.key === e.key) this.#waiting.wake();
      }
    } catch {
      // A watch that fails leaves the caller its timeout: it polls, as before.
    }
  }
}
