import { Semaphore } from './semaphore.ts';
import { withCommit, type ArchiveAccess, type ByteRange, type ObjectInfo, type ObjectWriter, type Storage } from './storage.ts';

/**
 * Wraps `storage` so at most `n` operations are in flight at once; the rest
 * queue in arrival order. Backends throttle or fall over under unbounded
 * parallelism, and a local disk gains nothing from hundreds of open files.
 *
 * list() holds a slot only while it fetches each next object, not for the
 * whole listing: a caller that loads every object it lists would otherwise
 * deadlock with n = 1. close() passes straight through, never queueing
 * behind the operations it is meant to end.
 */
export function withConcurrencyLimit(storage: Storage, n: number): Storage {
  return new LimitedStorage(storage, new Semaphore(n));
}

class LimitedStorage implements Storage {
  readonly location: string;
  readonly archive: ArchiveAccess | undefined;
  readonly #inner: Storage;
  readonly #slots: Semaphore;

  constructor(inner: Storage, slots: Semaphore) {
    this.#inner = inner;
    this.#slots = slots;
    this.location = inner.location;
    const archive = inner.archive;
    this.archive = archive && {
      state: (name) => this.#slots.run(() => archive.state(name)),
      request: (name, o) => this.#slots.run(() => archive.request(name, o)),
    };
  }

  save(name: string, data: Uint8Array): Promise<void> {
    return this.#slots.run(() => this.#inner.save(name, data));
  }

  load(name: string, range?: ByteRange): Promise<Uint8Array> {
    return this.#slots.run(() => this.#inner.load(name, range));
  }

  stat(name: string): Promise<ObjectInfo> {
    return this.#slots.run(() => this.#inner.stat(name));
  }

  remove(name: string): Promise<void> {
    return this.#slots.run(() => this.#inner.remove(name));
  }

  /** Getting a writer and committing it take a slot each; its writes, to an object already started, do not. */
  async writer(): Promise<ObjectWriter> {
    const inner = await this.#slots.run(() => this.#inner.writer());
    return withCommit(inner, (name) => this.#slots.run(() => inner.commit(name)));
  }

  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    const it = this.#inner.list(prefix)[Symbol.asyncIterator]();
    let finished = false;
    try {
      for (;;) {
        let step: IteratorResult<ObjectInfo>;
        try {
          step = await this.#slots.run(() => it.next());
        } catch (err) {
          // A failed next() has ended the inner iterator already.
          finished = true;
          throw err;
        }
        if (step.done === true) {
          finished = true;
          return;
        }
        yield step.value;
      }
    } finally {
      // The caller stopped early (break, or a throw of its own): let the
      // inner listing release what it holds, such as open directories.
      if (!finished) await it.return?.();
    }
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
