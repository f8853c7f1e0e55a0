import { StorageOp } from './ops.ts';
import { StorageError, withCommit, type ArchiveAccess, type ByteRange, type ObjectInfo, type ObjectWriter, type Storage, type StorageErrorCode } from './storage.ts';

/** What the onRetry hook learns about a failed attempt that is about to be retried. */
export interface RetryInfo {
  readonly op: StorageOp;
  /** The object name, or the prefix for list. */
  readonly name: string;
  /** The attempt that just failed, counting from 1. */
  readonly attempt: number;
  /** How long we wait before the next attempt. */
  readonly delayMs: number;
  readonly error: unknown;
}

export interface RetryOptions {
  /** Total attempts including the first (default 5). */
  readonly maxAttempts?: number;
  /** Backoff ceiling for the first retry, doubled per attempt (default 100 ms). */
  readonly baseDelayMs?: number;
  /** Cap on any single wait (default 5 s). */
  readonly maxDelayMs?: number;
  /**
   * Stops waiting: an abort during a backoff rejects at once with
   * `signal.reason`. An attempt already in flight runs to completion, since
   * Storage operations cannot be cancelled.
   */
  readonly signal?: AbortSignal;
  /** Called before each wait; the caller logs with it. */
  readonly onRetry?: (info: RetryInfo) => void;
  /** Source of jitter in [0, 1); tests pin it. */
  readonly random?: () => number;
}

export const RETRY_DEFAULTS = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 5_000 } as const;

/** True when `err` says a retry may cure it (the contract's only signal). */
export function isRetryable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === true;
}

/**
 * Wraps `storage` so operations failing with a `retryable: true` error are
 * tried again, up to maxAttempts in all, with exponential backoff and full
 * jitter (a uniformly random wait up to min(maxDelay, base·2^(n−1))), which
 * keeps many clients from retrying in lockstep against a struggling backend.
 *
 * Errors that are not retryable surface at once, unchanged. When attempts
 * run out, the error keeps the last failure's code, `retryable` flag and
 * details (plus `attempts`), and has the last failure as its `cause`.
 *
 * list() is retried only if it fails before yielding its first object.
 * After that the caller has already seen part of the listing, and starting
 * over would yield objects twice, breaking "each once"; so a later failure
 * surfaces, and the caller decides whether to list again from scratch.
 *
 * Retrying save() is safe because save replaces the object whole; retrying
 * remove() after a lost response yields storage.not-found.
 */
export function withRetry(storage: Storage, opts: RetryOptions = {}): Storage {
  return new RetryingStorage(storage, opts);
}

class RetryingStorage implements Storage {
  readonly location: string;
  readonly archive: ArchiveAccess | undefined;
  readonly #inner: Storage;
  readonly #opts: RetryOptions;
  readonly #maxAttempts: number;

  constructor(inner: Storage, opts: RetryOptions) {
    this.#inner = inner;
    this.#opts = opts;
    this.location = inner.location;
    const archive = inner.archive;
    this.archive = archive && {
      state: (name) => this.#retry(StorageOp.Stat, name, () => archive.state(name)),
      request: (name, o) => this.#retry(StorageOp.Save, name, () => archive.request(name, o)),
    };
    this.#maxAttempts = opts.maxAttempts ?? RETRY_DEFAULTS.maxAttempts;
    if (!Number.isInteger(this.#maxAttempts) || this.#maxAttempts < 1) {
      throw new RangeError(`maxAttempts must be a positive integer, got ${this.#maxAttempts}`);
    }
  }

  save(name: string, data: Uint8Array): Promise<void> {
    return this.#retry(StorageOp.Save, name, () => this.#inner.save(name, data));
  }

  load(name: string, range?: ByteRange): Promise<Uint8Array> {
    return this.#retry(StorageOp.Load, name, () => this.#inner.load(name, range));
  }

  stat(name: string): Promise<ObjectInfo> {
    return this.#retry(StorageOp.Stat, name, () => this.#inner.stat(name));
  }

  remove(name: string): Promise<void> {
    return this.#retry(StorageOp.Remove, name, () => this.#inner.remove(name));
  }

  /** Getting the writer and its commit are retried; its writes are not (the contract makes a failed write final). */
  async writer(): Promise<ObjectWriter> {
    const inner = await this.#retry(StorageOp.Save, '(new object)', () => this.#inner.writer());
    return withCommit(inner, (name) => this.#retry(StorageOp.Save, name, () => inner.commit(name)));
  }

  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    for (let attempt = 1; ; attempt++) {
      let yielded = false;
      try {
        for await (const info of this.#inner.list(prefix)) {
          yielded = true;
          yield info;
        }
        return;
      } catch (err) {
        if (yielded) throw err;
        await this.#afterFailure(StorageOp.List, prefix, attempt, err);
      }
    }
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  async #retry<T>(op: StorageOp, name: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        await this.#afterFailure(op, name, attempt, err);
      }
    }
  }

  /** Throws the error that ends the operation, or waits out the backoff before the next attempt. */
  async #afterFailure(op: StorageOp, name: string, attempt: number, err: unknown): Promise<void> {
    if (!isRetryable(err)) throw err;
    if (attempt >= this.#maxAttempts) throw exhausted(op, name, attempt, err);
    const base = this.#opts.baseDelayMs ?? RETRY_DEFAULTS.baseDelayMs;
    const max = this.#opts.maxDelayMs ?? RETRY_DEFAULTS.maxDelayMs;
    const ceiling = Math.min(max, base * 2 ** (attempt - 1));
    const delayMs = Math.floor((this.#opts.random ?? Math.random)() * ceiling);
    this.#opts.signal?.throwIfAborted();
    this.#opts.onRetry?.({ op, name, attempt, delayMs, error: err });
    await sleep(delayMs, this.#opts.signal);
  }
}

function exhausted(op: StorageOp, name: string, attempts: number, err: unknown): unknown {
  // Only our own errors are rewrapped; anything else surfaces as it was.
  if (!(err instanceof StorageError)) return err;
  return new StorageError(err.code as StorageErrorCode, `${op} ${name} failed after ${attempts} attempts: ${err.message}`, {
    retryable: err.retryable,
    details: { ...err.details, attempts },
    cause: err,
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
