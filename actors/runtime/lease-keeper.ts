/**
 * LeaseKeeper holds one lease for as long as it is wanted: it renews at
 * ttl/3 and, if the lease is taken over, deleted, or cannot be renewed
 * before it would expire (NATS unreachable), declares it lost. Loss is
 * reported through `signal` (aborted with a `lease.lost` RuntimeError) and
 * the optional `onLost` callback; the work the lease protects must stop then.
 * The keeper declares loss a margin (ttl/10) before the recorded expiry, so
 * it stops before anyone else may take over.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { FerryError } from '../../protocol/errors.ts';
import { RuntimeError, RuntimeErrorCode } from './errors.ts';
import type { Lease, Leases } from './leases.ts';

export interface LeaseKeeperOptions {
  readonly leases: Leases;
  readonly key: string;
  readonly holder: string;
  readonly ttlMs: number;
  readonly log?: Logger;
  readonly onLost?: (err: RuntimeError) => void;
  readonly now?: () => number;
}

export class LeaseKeeper {
  readonly #opts: LeaseKeeperOptions;
  readonly #controller = new AbortController();
  readonly #now: () => number;
  #lease: Lease;
  #timer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  private constructor(opts: LeaseKeeperOptions, lease: Lease) {
    this.#opts = opts;
    this.#lease = lease;
    this.#now = opts.now ?? Date.now;
    this.#schedule(Math.floor(opts.ttlMs / 3));
  }

  /** Tries once; undefined when another holder has the lease. */
  static async tryAcquire(opts: LeaseKeeperOptions): Promise<LeaseKeeper | undefined> {
    const lease = await opts.leases.acquire(opts.key, opts.holder, opts.ttlMs);
    return lease && new LeaseKeeper(opts, lease);
  }

  /**
   * Waits until the lease is ours, retrying every ttl/3 (a dead holder's
   * lease expires within one ttl). Rejects with the signal's reason if
   * `signal` aborts first.
   */
  static async acquire(opts: LeaseKeeperOptions, signal?: AbortSignal): Promise<LeaseKeeper> {
    for (;;) {
      signal?.throwIfAborted();
      try {
        const keeper = await LeaseKeeper.tryAcquire(opts);
        if (keeper !== undefined) return keeper;
      } catch (err) {
        if (err instanceof RangeError) throw err;
        opts.log?.warn({ err, key: opts.key }, 'lease acquire failed; retrying');
      }
      await sleep(Math.max(50, Math.floor(opts.ttlMs / 3)), undefined, signal ? { signal } : {});
    }
  }

  /** Aborted when the lease is lost or the keeper is closed. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get lease(): Lease {
    return this.#lease;
  }

  /** Stops renewing and releases the lease if still held. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearTimeout(this.#timer);
      const held = !this.#controller.signal.aborted;
      this.#controller.abort(new RuntimeError(RuntimeErrorCode.LeaseLost, `lease ${this.#opts.key} released`, { details: { key: this.#opts.key } }));
      if (held) await this.#opts.leases.release(this.#lease).catch((err: unknown) => this.#opts.log?.warn({ err }, 'lease release failed; it will expire'));
    })();
    return this.#closing;
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => void this.#renew(), ms);
  }

  async #renew(): Promise<void> {
    if (this.#controller.signal.aborted) return;
    const { ttlMs, leases, log, key } = this.#opts;
    try {
      const lease = await leases.renew(this.#lease);
      if (this.#controller.signal.aborted) return;
      this.#lease = lease;
      this.#schedule(Math.floor(ttlMs / 3));
    } catch (err) {
      if (this.#controller.signal.aborted) return;
      if (err instanceof FerryError && err.code === RuntimeErrorCode.LeaseLost) return this.#lost(err as RuntimeError);
      const margin = Math.floor(ttlMs / 10);
      if (this.#now() >= this.#lease.expiresAt - margin) {
        return this.#lost(new RuntimeError(RuntimeErrorCode.LeaseLost, `lease ${key} could not be renewed before expiry`, { cause: err, details: { key } }));
      }
      log?.warn({ err, key }, 'lease renewal failed; retrying');
      this.#schedule(Math.max(20, Math.min(margin, 1000)));
    }
  }

  #lost(err: RuntimeError): void {
    this.#opts.log?.error({ err, key: this.#opts.key }, 'lease lost');
    this.#controller.abort(err);
    this.#opts.onLost?.(err);
  }
}
