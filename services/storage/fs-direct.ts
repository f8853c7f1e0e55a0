/**
 * Writes that bypass the page cache (O_DIRECT) for FsStorage's writers.
 *
 * Why: a pack is written once and fsynced before it is named, so its bytes
 * reach the disk within the backup anyway. Through the page cache the
 * kernel first copies every byte into cache pages, dirties, accounts and
 * writes them back, and the fsync waits for all of it: about 2 CPU-s per
 * GiB on the 2-core benchmark machine, against a fifteenth of that for the
 * same bytes written direct (docs/BENCHMARKS.md). A backup is CPU-bound
 * there, so that CPU is time.
 *
 * O_DIRECT wants the memory, the file position and the length aligned to the
 * device's block. Pieces are therefore copied into aligned stage buffers
 * (from the native addon) and each stage goes out whole at an aligned
 * position; the last is padded to the block and the file truncated to its
 * true size before the fsync.
 */

import { releaseBuffer } from '../buffers/release-buffer.ts';

/** Alignment of memory, positions and lengths: 4096 covers devices with 512-byte and 4 KiB sectors. */
export const DIRECT_ALIGN = 4096;
/** Bytes per direct write. */
export const STAGE_BYTES = 1024 * 1024;
/** Stage buffers kept for reuse, so steady writing does not fault in fresh pages. */
const SPARE_STAGES = 8;

/** Aligned memory of `size` bytes, or undefined where it cannot be had (no native addon): writes then go through the page cache. */
export type AlignedAlloc = (size: number) => Uint8Array | undefined;

/** A storage's stage buffers: taken by writers, given back once their write settled. */
export class StagePool {
  readonly #alloc: AlignedAlloc;
  readonly #spare: Uint8Array[] = [];

  private constructor(alloc: AlignedAlloc, first: Uint8Array) {
    this.#alloc = alloc;
    this.#spare.push(first);
  }

  /** A pool, or undefined if `alloc` gives no aligned memory here. */
  static create(alloc: AlignedAlloc): StagePool | undefined {
    const first = alloc(STAGE_BYTES);
    return first === undefined ? undefined : new StagePool(alloc, first);
  }

  /** A stage of STAGE_BYTES. Throws only if memory runs out. */
  take(): Uint8Array {
    const stage = this.#spare.pop() ?? this.#alloc(STAGE_BYTES);
    if (stage === undefined) throw new Error('aligned memory for a direct write could not be had');
    return stage;
  }

  give(stage: Uint8Array): void {
    if (this.#spare.length < SPARE_STAGES) this.#spare.push(stage);
    // Freed now rather than at the next collection that finds it.
    else releaseBuffer(stage);
  }
}

/**
 * Writes `length` bytes of `stage` at `position` (both multiples of
 * DIRECT_ALIGN). It records its own failure for the writer to raise, so
 * the promise it returns never rejects.
 */
export type StageWrite = (stage: Uint8Array, length: number, position: number) => Promise<void>;

/**
 * Gathers an object's pieces into stages and writes each full stage. put()
 * copies at once, so the caller may reuse its piece as soon as it returns.
 */
export class DirectStage {
  readonly #pool: StagePool;
  readonly #write: StageWrite;
  #stage: Uint8Array | undefined;
  #filled = 0;
  /** File position of the current stage's first byte. */
  #position = 0;

  constructor(pool: StagePool, write: StageWrite) {
    this.#pool = pool;
    this.#write = write;
  }

  /** Copies `data` into stages, writing each one that fills; the writes it started. */
  put(data: Uint8Array): Promise<void>[] {
    const started: Promise<void>[] = [];
    let at = 0;
    while (at < data.length) {
      const stage = (this.#stage ??= this.#pool.take());
      const n = Math.min(data.length - at, STAGE_BYTES - this.#filled);
      stage.set(data.subarray(at, at + n), this.#filled);
      this.#filled += n;
      at += n;
      if (this.#filled === STAGE_BYTES) started.push(this.#emit(STAGE_BYTES));
    }
    return started;
  }

  /** Writes what is staged, padded with zeros to DIRECT_ALIGN (the caller truncates the file to its true size); undefined if nothing was. */
  finish(): Promise<void> | undefined {
    if (this.#filled === 0) return undefined;
    const padded = Math.ceil(this.#filled / DIRECT_ALIGN) * DIRECT_ALIGN;
    this.#stage!.fill(0, this.#filled, padded);
    return this.#emit(padded);
  }

  /** Gives back the stage being filled, for a writer that is aborted. */
  discard(): void {
    if (this.#stage !== undefined) this.#pool.give(this.#stage);
    this.#stage = undefined;
    this.#filled = 0;
  }

  #emit(length: number): Promise<void> {
    const stage = this.#stage!;
    const position = this.#position;
    this.#stage = undefined;
    this.#position += STAGE_BYTES;
    this.#filled = 0;
    return this.#write(stage, length, position).then(() => this.#pool.give(stage));
  }
}
