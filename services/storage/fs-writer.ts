/**
 * FsStorage's ObjectWriter: pieces go into a temp file (hidden from list()
 * like save()'s) at the offsets they were written in order, and commit()
 * fsyncs it and renames it into place. So an object of any size is built
 * in the page cache, not in the caller's memory.
 */
import type { FileHandle } from 'node:fs/promises';
import { mapFsError } from './fs-errors.ts';
import { isRetryable } from './retry.ts';
import { finishedWriter, type ObjectWriter, type StorageError } from './storage.ts';

/** What the writer needs from its FsStorage. */
export interface FsWriterTarget {
  readonly location: string;
  /** What errors call the object before it has a name. */
  readonly label: string;
  /** Renames the synced and closed temp file to object `name` and makes that durable, creating directories as needed. */
  publish(tmp: string, name: string): Promise<void>;
  /** Removes the temp file, ignoring errors. */
  discard(tmp: string): Promise<void>;
}

export class FsObjectWriter implements ObjectWriter {
  readonly #target: FsWriterTarget;
  readonly #tmp: string;
  readonly #fh: FileHandle;
  #size = 0;
  readonly #pending = new Set<Promise<void>>();
  #failure: StorageError | undefined;
  /** open: writable; closed: synced and closed, waiting for a commit to publish it; then committed or aborted. */
  #state: 'open' | 'closed' | 'committed' | 'aborted' = 'open';
  #committedAs: string | undefined;

  /** `fh` is a freshly created, empty temp file at `tmp`. */
  constructor(target: FsWriterTarget, tmp: string, fh: FileHandle) {
    this.#target = target;
    this.#tmp = tmp;
    this.#fh = fh;
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(finishedWriter(this.#target.location, 'write'));
    if (this.#failure) return Promise.reject(this.#failure);
    const position = this.#size;
    this.#size += data.length;
    const done = this.#writeAt(data, position);
    this.#pending.add(done);
    void done.catch(() => {}).finally(() => this.#pending.delete(done));
    return done;
  }

  async commit(name: string): Promise<void> {
    if (this.#state === 'committed' && this.#committedAs === name) return;
    if (this.#state === 'committed' || this.#state === 'aborted') throw finishedWriter(this.#target.location, 'commit');
    if (this.#state === 'open') {
      await Promise.allSettled([...this.#pending]);
      if (this.#failure) {
        await this.abort();
        throw this.#failure;
      }
      try {
        await this.#fh.sync();
        await this.#fh.close();
      } catch (err) {
        await this.abort();
        throw mapFsError(err, name, this.#target.location);
      }
      this.#state = 'closed';
    }
    try {
      await this.#target.publish(this.#tmp, name);
    } catch (err) {
      // The temp file is whole and synced: a commit that may succeed later keeps it.
      if (!isRetryable(err)) await this.abort();
      throw err;
    }
    this.#state = 'committed';
    this.#committedAs = name;
  }

  async abort(): Promise<void> {
    if (this.#state === 'committed' || this.#state === 'aborted') return;
    const wasOpen = this.#state === 'open';
    this.#state = 'aborted';
    if (wasOpen) {
      await Promise.allSettled([...this.#pending]);
      await this.#fh.close().catch(() => {});
    }
    await this.#target.discard(this.#tmp);
  }

  async #writeAt(data: Uint8Array, position: number): Promise<void> {
    try {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await this.#fh.write(data, done, data.length - done, position + done);
        done += bytesWritten;
      }
    } catch (err) {
      this.#failure ??= mapFsError(err, this.#target.label, this.#target.location);
      throw this.#failure;
    }
  }
}
