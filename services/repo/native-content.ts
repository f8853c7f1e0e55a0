/**
 * Content work (chunking, blob IDs, QuickXorHash, zstd, AES-GCM; opening
 * and placing blobs on restore) through the native addon on Node's thread
 * pool, from the main isolate. The same contracts as BlobWorkers
 * (content.ts, sealer.ts, place-blobs.ts) and the same format: the tests
 * compare both on the same files.
 *
 * Why native rather than worker threads: each worker isolate held about
 * 16 MiB of heap plus its own compiled code and compiler threads' work,
 * and a worker's JavaScript chunked and hashed at 1.6-1.9 ms/MiB where C
 * does 1.2-1.5 (docs/BENCHMARKS.md). Node's own async APIs could not stand
 * in: node:zlib builds a zstd context per call, and each WebCrypto call
 * costs tens of microseconds of hand-offs.
 *
 * At most `threads` tasks run at once: each holds a slot of buffers (a
 * 9 MiB read window, zstd and cipher contexts). The default is one more
 * than the cores (at most 9, and one fewer than libuv's pool): a finished
 * task's slot is refilled only once the main thread gets to its
 * completion, and with exactly one task per core the pool stood idle that
 * long: 1.64 tasks in flight on average over a first backup on 2 cores;
 * with 3, 2.1-2.2, and the backup 3% faster (3 interleaved pairs). bin/ferry gives libuv's pool two threads more
 * than the cores, so file I/O and key derivation still find one free.
 *
 * The tasks run `nice` levels below the rest of the process (default
 * DEFAULT_CONTENT_NICE, native/content/src/task_nice.h). The main thread
 * feeds them, and at equal priority it was preempted each time it woke a
 * pool thread: in a CPU profile of a first backup, handing out tasks and
 * pack writes took 470 ms of the main thread's time, and 170 ms with the
 * tasks at nice 19 (its idle time went from 0.64 to 1.6 s: it now waits
 * for the pool rather than the pool for it). First backups of the benchmark
 * corpus, interleaved pairs against nice 0: median ratio 0.947 at nice 10
 * (8 of 8 pairs faster); 19 was no better than 10 (0.986, 8 pairs).
 * Backups after mutate 0.937 (6 pairs); restores the same.
 */
import { availableParallelism } from 'node:os';
import { FerryError } from '../../protocol/errors.ts';
import { Semaphore } from '../storage/semaphore.ts';
import { ChunkerErrorCode, DEFAULT_READ_BYTES, RETRYABLE_IO_CODES, gearTable, validateChunkerParams } from './chunker.ts';
import type { RepoConfig } from './config.ts';
import { DEFAULT_CONTENT_NICE } from './content-nice.ts';
import type { ContentScanner, FileChunk, FileSegment, ScanOptions, SealSpec, WholeFile } from './content.ts';
import type { KnownBlobsHandle } from './known-blobs.ts';
import type { BlobPlacer, PlaceResult, PlaceTask } from './place-blobs.ts';
import type { Sealer, SealItem } from './sealer.ts';
import type { AddonError, ContentAddon } from './content-addon.ts';
import { releaseBuffer } from '../buffers/release-buffer.ts';

export const NativeContentErrorCode = {
  Closed: 'content.closed',
} as const;

export class NativeContent implements Sealer, ContentScanner, BlobPlacer {
  readonly #addon: ContentAddon;
  readonly #ctx: object;
  readonly #running: Semaphore;
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Shared-memory views of the known-blobs filter, per handle the index gave out (a new handle when it grows). */
  readonly #knownViews = new WeakMap<KnownBlobsHandle, Uint32Array[]>();
  #closed = false;

  constructor(addon: ContentAddon, config: RepoConfig, idKey: Uint8Array, opts: { threads?: number; nice?: number } = {}) {
    const { minSize, avgSize, maxSize, seed } = config.chunker;
    validateChunkerParams({ minSize, avgSize, maxSize });
    this.#addon = addon;
    this.#ctx = addon.createContext(gearTable(seed), minSize, avgSize, maxSize, idKey, DEFAULT_READ_BYTES);
    this.#running = new Semaphore(opts.threads ?? defaultTasks());
    addon.setTaskNice(opts.nice ?? DEFAULT_CONTENT_NICE);
  }

  async seal(key: Uint8Array, level: number, items: readonly SealItem[]): Promise<Uint8Array[]> {
    const ids = new Uint8Array(32 * items.length);
    const types = new Uint8Array(items.length);
    items.forEach((item, k) => {
      ids.set(item.id, 32 * k);
      types[k] = item.type;
    });
    const datas = items.map((i) => i.data);
    const sealed = await this.#run(() => this.#addon.seal(key, level, ids, types, datas));
    for (const d of datas) releaseBuffer(d); // the sealer owns them now (Sealer's contract), and they are sealed
    return sealed;
  }

  async scanSegment(path: string, start: number, budget: number, opts: ScanOptions): Promise<FileSegment> {
    const known = this.#known(opts.known);
    const seg = await this.#run(() => this.#addon.scan(this.#ctx, path, start, budget, opts.seal.key, opts.seal.level, known, opts.sealBudget)).catch((err: unknown) => {
      throw readError(err, path);
    });
    const chunks: FileChunk[] = [];
    for (let k = 0; k < seg.offsets.length; k++) {
      const sealed = seg.sealed[k];
      const id = seg.ids.slice(32 * k, 32 * k + 32);
      chunks.push({ id, offset: seg.offsets[k]!, length: seg.lengths[k]!, ...(sealed === undefined ? {} : { sealed }) });
    }
    return { chunks, next: seg.next, eof: seg.eof, hashFold: seg.fold };
  }

  async readFiles(paths: readonly string[], opts: ScanOptions): Promise<WholeFile[]> {
    const known = this.#known(opts.known);
    const files = await this.#run(() => this.#addon.readFiles(this.#ctx, paths, opts.seal.key, opts.seal.level, known));
    return files.map((f, k): WholeFile => {
      if (!f.ok) return { ok: false, code: f.error.code, message: nodeStyleMessage(f.error, paths[k]!) };
      return { ok: true, size: f.size, id: f.id, hash: f.hash, ...(f.sealed === undefined ? {} : { sealed: f.sealed }) };
    });
  }

  async readRange(path: string, offset: number, length: number, seal: SealSpec): Promise<{ id: Uint8Array; length: number; sealed: Uint8Array }> {
    return this.#run(() => this.#addon.readRange(this.#ctx, path, offset, length, seal.key, seal.level)).catch((err: unknown) => {
      throw readError(err, path);
    });
  }

  async place(task: PlaceTask): Promise<PlaceResult> {
    const n = task.blobs.length;
    const ids = new Uint8Array(32 * n);
    const types = new Uint8Array(n);
    const geometry = new Float64Array(3 * n);
    const destCounts = new Uint32Array(n);
    const dests = new Float64Array(2 * task.blobs.reduce((sum, b) => sum + b.dests.length, 0));
    let d = 0;
    task.blobs.forEach((b, k) => {
      ids.set(b.id, 32 * k);
      types[k] = b.type;
      geometry.set([b.at, b.length, b.rawLength], 3 * k);
      destCounts[k] = b.dests.length;
      for (const [fd, position] of b.dests) {
        dests[d++] = fd;
        dests[d++] = position;
      }
    });
    const results = await this.#run(() => this.#addon.place(task.key, task.sealed, ids, types, geometry, destCounts, dests));
    releaseBuffer(task.sealed); // handed over by the caller, as to a worker; placed now
    return results.map((e) => (e === null ? null : { code: e.code, message: e.message }));
  }

  /** Waits for the tasks asked for so far (native work cannot be interrupted), then frees the addon's idle buffers. Safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
    this.#addon.releaseIdle();
  }

  #known(handle: KnownBlobsHandle | undefined): Uint32Array[] | undefined {
    if (handle === undefined) return undefined;
    let views = this.#knownViews.get(handle);
    if (views === undefined) {
      views = handle.map((sab) => new Uint32Array(sab));
      this.#knownViews.set(handle, views);
    }
    return views;
  }

  /** Runs `work` once a slot is free; tasks asked for before close() still run (close waits for them). */
  async #run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new FerryError(NativeContentErrorCode.Closed, 'content work was asked for after the engine closed');
    const p = this.#running.run(work);
    this.#inFlight.add(p);
    try {
      return await p;
    } finally {
      this.#inFlight.delete(p);
    }
  }
}

/** One task more than the cores (see above), leaving a pool thread free for file I/O (bin/ferry sizes the pool). */
function defaultTasks(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.min(availableParallelism() + 1, pool - 1, 9));
}

/** Node's wording for a failed call on a path: "ENOENT: no such file or directory, open '/x'". */
function nodeStyleMessage(err: AddonError, path: string): string {
  return err.syscall === undefined ? err.message : `${err.message} '${path}'`;
}

/** A failed read of a file being backed up, as chunkFile() reports one: FerryError `chunker.io` with the OS error as cause. */
function readError(err: unknown, path: string): unknown {
  const e = err as AddonError;
  if (typeof e?.code !== 'string' || e.syscall === undefined) return err;
  const op = e.syscall === 'fstat' ? 'stat' : e.syscall;
  return new FerryError(ChunkerErrorCode.Io, `${op} ${path}: ${nodeStyleMessage(e, path)}`, {
    retryable: RETRYABLE_IO_CODES.has(e.code),
    details: { path, op, errno: e.code },
    cause: err,
  });
}
