/**
 * Leases in the `ferry-leases` bucket: one holder at a time per key, for
 * singletons (the coordinator) and per-site ownership.
 *
 * A lease is a KV value {holder, acquiredAt, renewedAt, expiresAt, ttlMs}.
 * Every write is revision-checked, so of two processes racing for a key
 * exactly one wins: a free key is taken with `create`, an expired one with
 * `update` at the revision that was read. Expiry is judged from the
 * timestamp inside the value (nats-server 2.9 has no per-key TTL), so a dead
 * holder's lease is taken over once it expires, with no one clearing
 * anything by hand. This assumes clocks agree to well within a TTL (NTP).
 *
 * Holder names must be unique per process (e.g. host-pid-random): a holder
 * re-acquiring its own live lease simply extends it.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import type { KV } from '@nats-io/kv';
import { openBucket } from './open-bucket.ts';
import { Buckets } from '../../protocol/resources.ts';
import { isPlainObject } from '../../protocol/fields.ts';
import { isWrongRevision, RuntimeError, RuntimeErrorCode } from './errors.ts';
import { packValue, unpackValue } from './kv-values.ts';

export interface LeaseRecord {
  readonly holder: string;
  readonly acquiredAt: number;
  readonly renewedAt: number;
  readonly expiresAt: number;
  readonly ttlMs: number;
}

/** A lease this process holds, as of `revision`. */
export interface Lease extends LeaseRecord {
  readonly key: string;
  readonly revision: number;
}

function parse(data: Uint8Array): LeaseRecord | undefined {
  try {
    const v = unpackValue(data, 'lease');
    if (!isPlainObject(v)) return undefined;
    const { holder, acquiredAt, renewedAt, expiresAt, ttlMs } = v;
    if (typeof holder !== 'string' || typeof expiresAt !== 'number' || typeof acquiredAt !== 'number') return undefined;
    return { holder, acquiredAt, renewedAt: Number(renewedAt) || acquiredAt, expiresAt, ttlMs: Number(ttlMs) || 0 };
  } catch {
    // A lease nobody can read protects nothing; treat it as expired.
    return undefined;
  }
}

function checkTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 100) throw new RangeError(`lease ttl must be an integer of at least 100 ms, got ${ttlMs}`);
}

export class Leases {
  readonly #kv: KV;
  readonly #now: () => number;

  constructor(kv: KV, opts: { now?: () => number } = {}) {
    this.#kv = kv;
    this.#now = opts.now ?? Date.now;
  }

  static async open(nc: NatsConnection, opts: { now?: () => number } = {}): Promise<Leases> {
    return new Leases(await openBucket(nc, Buckets.Leases), opts);
  }

  /** The current lease on `key` (live or expired), for inspection. */
  async read(key: string): Promise<(LeaseRecord & { revision: number; live: boolean }) | undefined> {
    const e = await this.#kv.get(key);
    if (e === null || e.operation !== 'PUT') return undefined;
    const rec = parse(e.value);
    return rec && { ...rec, revision: e.revision, live: rec.expiresAt > this.#now() };
  }

  /**
   * Takes `key` for `holder` for `ttlMs` if it is free, expired, or already
   * this holder's. Resolves undefined when another holder's lease is live or
   * another process won the race.
   */
  async acquire(key: string, holder: string, ttlMs: number): Promise<Lease | undefined> {
    checkTtl(ttlMs);
    const e = await this.#kv.get(key);
    const now = this.#now();
    const current = e !== null && e.operation === 'PUT' ? parse(e.value) : undefined;
    if (current !== undefined && current.expiresAt > now && current.holder !== holder) return undefined;
    const mine = current !== undefined && current.holder === holder && current.expiresAt > now;
    const rec: LeaseRecord = { holder, acquiredAt: mine && current ? current.acquiredAt : now, renewedAt: now, expiresAt: now + ttlMs, ttlMs };
    try {
      const revision = e === null || e.operation !== 'PUT' ? await this.#kv.create(key, packValue(rec)) : await this.#kv.update(key, packValue(rec), e.revision);
      return { key, revision, ...rec };
    } catch (err) {
      if (isWrongRevision(err)) return undefined;
      throw err;
    }
  }

  /** Extends a lease still held at `lease.revision`; throws `lease.lost` if anyone wrote the key since. */
  async renew(lease: Lease, ttlMs: number = lease.ttlMs): Promise<Lease> {
    checkTtl(ttlMs);
    const now = this.#now();
    const rec: LeaseRecord = { holder: lease.holder, acquiredAt: lease.acquiredAt, renewedAt: now, expiresAt: now + ttlMs, ttlMs };
    try {
      const revision = await this.#kv.update(lease.key, packValue(rec), lease.revision);
      return { key: lease.key, revision, ...rec };
    } catch (err) {
      if (!isWrongRevision(err)) throw err;
      throw new RuntimeError(RuntimeErrorCode.LeaseLost, `lease ${lease.key} is no longer held by ${lease.holder}`, {
        cause: err,
        details: { key: lease.key, holder: lease.holder },
      });
    }
  }

  /** Gives the lease up if it is still ours; a no-op if it already moved on. */
  async release(lease: Lease): Promise<void> {
    try {
      await this.#kv.delete(lease.key, { previousSeq: lease.revision });
    } catch (err) {
      if (!isWrongRevision(err)) throw err;
    }
  }
}
