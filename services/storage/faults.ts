import { StorageOp } from './ops.ts';
import { seededRandom } from './prng.ts';
import { StorageError, StorageErrorCode, withCommit, type ByteRange, type ObjectInfo, type ObjectWriter, type Storage } from './storage.ts';

export interface FaultOptions {
  /** PRNG seed (default 1): the same seed and call order give the same faults. */
  readonly seed?: number;
  /** Fraction in [0, 1] of calls that fail before reaching the wrapped storage. */
  readonly failBefore?: number;
  /**
   * Fraction in [0, 1] of saves that fail after the real write completed,
   * like a response lost on the way back: the object is stored, yet the
   * caller sees an error and will typically save it again.
   */
  readonly failAfterSave?: number;
  /** Names (for list: prefixes) whose every call fails before reaching the wrapped storage. */
  readonly failNames?: Iterable<string> | ((name: string, op: StorageOp) => boolean);
}

/** Counts of injected faults, for tests to check the faults really happened. */
export interface FaultStats {
  readonly calls: number;
  readonly before: number;
  readonly afterSave: number;
  readonly named: number;
}

export interface FaultyStorage extends Storage {
  readonly faults: FaultStats;
}

/**
 * Test wrapper that makes `storage` flaky in reproducible ways. Every
 * injected failure is StorageError `storage.fault` with `retryable: true`.
 *
 * It never corrupts data: a fault either stops a call before it reaches the
 * wrapped storage, or (failAfterSave) reports failure for a save that
 * completed in full. list() faults only before the first object, as a
 * failed first page would. close() is never faulted.
 */
export function withFaults(storage: Storage, opts: FaultOptions = {}): FaultyStorage {
  return new FaultyStorageImpl(storage, opts);
}

class FaultyStorageImpl implements FaultyStorage {
  readonly location: string;
  readonly #inner: Storage;
  readonly #random: () => number;
  readonly #failBefore: number;
  readonly #failAfterSave: number;
  readonly #isTargeted: (name: string, op: StorageOp) => boolean;
  readonly #stats = { calls: 0, before: 0, afterSave: 0, named: 0 };

  constructor(inner: Storage, opts: FaultOptions) {
    this.#inner = inner;
    this.location = inner.location;
    this.#random = seededRandom(opts.seed ?? 1);
    this.#failBefore = checkRate('failBefore', opts.failBefore ?? 0);
    this.#failAfterSave = checkRate('failAfterSave', opts.failAfterSave ?? 0);
    const names = opts.failNames;
    if (typeof names === 'function') {
      this.#isTargeted = names;
    } else {
      const set = new Set(names ?? []);
      this.#isTargeted = (name) => set.has(name);
    }
  }

  get faults(): FaultStats {
    return { ...this.#stats };
  }

  async save(name: string, data: Uint8Array): Promise<void> {
    this.#maybeFailBefore(StorageOp.Save, name);
    await this.#inner.save(name, data);
    // Only a write that succeeded can lose its response.
    if (this.#random() < this.#failAfterSave) {
      this.#stats.afterSave++;
      throw fault(StorageOp.Save, name, 'after');
    }
  }

  async load(name: string, range?: ByteRange): Promise<Uint8Array> {
    this.#maybeFailBefore(StorageOp.Load, name);
    return this.#inner.load(name, range);
  }

  async stat(name: string): Promise<ObjectInfo> {
    this.#maybeFailBefore(StorageOp.Stat, name);
    return this.#inner.stat(name);
  }

  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    this.#maybeFailBefore(StorageOp.List, prefix);
    yield* this.#inner.list(prefix);
  }

  async remove(name: string): Promise<void> {
    this.#maybeFailBefore(StorageOp.Remove, name);
    return this.#inner.remove(name);
  }

  /** Faults before a writer starts and around its commit, as for save(); writes are not faulted. */
  async writer(): Promise<ObjectWriter> {
    this.#maybeFailBefore(StorageOp.Save, '(new object)');
    const inner = await this.#inner.writer();
    return withCommit(inner, async (name) => {
      this.#maybeFailBefore(StorageOp.Save, name);
      await inner.commit(name);
      if (this.#random() < this.#failAfterSave) {
        this.#stats.afterSave++;
        throw fault(StorageOp.Save, name, 'after');
      }
    });
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  #maybeFailBefore(op: StorageOp, name: string): void {
    this.#stats.calls++;
    if (this.#isTargeted(name, op)) {
      this.#stats.named++;
      throw fault(op, name, 'before');
    }
    if (this.#random() < this.#failBefore) {
      this.#stats.before++;
      throw fault(op, name, 'before');
    }
  }
}

function fault(op: StorageOp, name: string, when: 'before' | 'after'): StorageError {
  return new StorageError(StorageErrorCode.Fault, `injected fault ${when} ${op} ${name}`, {
    retryable: true,
    details: { op, name, when },
  });
}

function checkRate(label: string, rate: number): number {
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`${label} must be between 0 and 1, got ${rate}`);
  return rate;
}
