/**
 * FsStorage's ObjectWriter: pieces go into a temp file (hidden from list()
 * like save()'s) at the offsets they were written in order, and commit()
 * fsyncs it and renames it into place. So an object of any size is built
 * in the file, not in the caller's memory. With a DirectMode the file was
 * opened O_DIRECT and pieces go out through aligned stages (fs-direct.ts).
 */
import type { FileHandle } from 'node:fs/promises';
import { errnoCode, mapFsError } from './fs-errors.ts';
import { DirectStage, DIRECT_ALIGN, type StagePool } from './fs-direct.ts';
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

/** How a writer whose temp file was opened O_DIRECT writes. */
export interface DirectMode {
  readonly pool: StagePool;
  /**
   * Opens the temp file again through the page cache, for a filesystem that
   * took O_DIRECT at open but refuses the writes (EINVAL); the storage stops
   * opening files O_DIRECT after that.
   */
  refused(): Promise<FileHandle>;
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
  readonly #direct: DirectMode | undefined;
  readonly #stage: DirectStage | undefined;
  /** The handle through the page cache after a refused direct write. */
  #buffered: Promise<FileHandle> | undefined;

  get gathers(): boolean {
    return this.#stage !== undefined;
  }

  /** `fh` is a freshly created, empty temp file at `tmp`, opened O_DIRECT if `direct` is given. */
  constructor(target: FsWriterTarget, tmp: string, fh: FileHandle, direct?: DirectMode) {
    this.#target = target;
    this.#tmp = tmp;
    this.#fh = fh;
    this.#direct = direct;
    this.#stage = direct && new DirectStage(direct.pool, (stage, length, position) => this.#writeStage(stage, length, position));
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(finishedWriter(this.#target.location, 'write'));
    if (this.#failure) return Promise.reject(this.#failure);
    const position = this.#size;
    this.#size += data.length;
    if (this.#stage !== undefined) {
      // Copied into stages: the caller may reuse `data` now; a failed stage write surfaces at the next write or the commit.
      try {
        for (const w of this.#stage.put(data)) this.#track(w);
      } catch (err) {
        // Out of memory for a stage: part of `data` may be staged, so the object cannot be finished.
        this.#failure ??= mapFsError(err, this.#target.label, this.#target.location);
        return Promise.reject(this.#failure);
      }
      return Promise.resolve();
    }
    return this.#track(this.#writeAt(this.#fh, data, position));
  }

  #track(done: Promise<void>): Promise<void> {
    this.#pending.add(done);
    void done.catch(() => {}).finally(() => this.#pending.delete(done));
    return done;
  }

  async commit(name: string): Promise<void> {
    if (this.#state === 'committed' && this.#committedAs === name) return;
    if (this.#state === 'committed' || this.#state === 'aborted') throw finishedWriter(this.#target.location, 'commit');
    if (this.#state === 'open') {
      const last = this.#stage?.finish();
      if (last !== undefined) this.#track(last);
      await Promise.allSettled([...this.#pending]);
      if (this.#failure) {
        await this.abort();
        throw this.#failure;
      }
      try {
        // The last stage was padded to the block.
        if (this.#stage !== undefined && this.#size % DIRECT_ALIGN !== 0) await this.#fh.truncate(this.#size);
        await this.#fh.sync();
        await this.#fh.close();
        if (this.#buffered !== undefined) await (await this.#buffered).close();
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
      this.#stage?.discard();
      await Promise.allSettled([...this.#pending]);
      await this.#fh.close().catch(() => {});
      await this.#buffered?.then((fh) => fh.close()).catch(() => {});
    }
    await this.#target.discard(this.#tmp);
  }

  /** A stage's write (see StageWrite): direct, or through the page cache once the filesystem refused that. */
  async #writeStage(stage: Uint8Array, length: number, position: number): Promise<void> {
    const data = stage.subarray(0, length);
    if (this.#buffered === undefined) {
      try {
        await this.#writeAll(this.#fh, data, position);
        return;
      } catch (err) {
        if (errnoCode(err) !== 'EINVAL' || this.#direct === undefined) {
          this.#failure ??= mapFsError(err, this.#target.label, this.#target.location);
          return;
        }
        this.#buffered ??= this.#direct.refused();
      }
    }
    try {
      await this.#writeAt(await this.#buffered, data, position);
    } catch (err) {
      this.#failure ??= mapFsError(err, this.#target.label, this.#target.location);
    }
  }

  async #writeAt(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
    try {
      await this.#writeAll(fh, data, position);
    } catch (err) {
      this.#failure ??= mapFsError(err, this.#target.label, this.#target.location);
      throw this.#failure;
    }
  }

  async #writeAll(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
      done += bytesWritten;
    }
  }
}
