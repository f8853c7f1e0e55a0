/**
 * Restoring file contents pack by pack, as restic does. The restore walk
 * registers open files with the blobs they need; a batch of files is then
 * served by reading each pack once, in order, in ranges of neighbouring
 * blobs, and a blob placer (the worker threads) opens every blob of a range
 * and writes it wherever the batch wants it. A blob shared by files in the
 * batch is read and opened once.
 *
 * Contract:
 * - add() resolves once another file may be registered: at most
 *   `maxUnfinished` files are registered and not done. Before it waits, it
 *   sends the current batch on, so waiting never depends on a batch that is
 *   not on its way.
 * - A file is opened (its `open` called, on this thread) when the first
 *   range that writes to it is served, so a large batch does not hold a
 *   descriptor per file: only files partly written are open.
 * - `onDone(fd, error)` is called once per file, after each of its blobs was
 *   written or failed, with the first failure or undefined; `fd` is
 *   undefined only when opening failed. The caller closes the descriptor.
 * - finish() sends the last batch and resolves when every file is done.
 * Memory: at most `maxReads` ranges of at most `rangeBytes` are held, loaded
 * or being placed, plus the bookkeeping of one batch.
 */
import type { Repository } from './repository.ts';
import type { BlobLocation } from './master-index.ts';
import type { BlobPlacer, PlaceResult } from './place-blobs.ts';
import { idKey } from './ids.ts';
import { Semaphore } from '../storage/semaphore.ts';
import { FerryError } from '../../protocol/errors.ts';
import { errorCode, errorMessage } from './error-text.ts';

export interface PackRestoreLimits {
  readonly batchFiles: number;
  readonly batchBytes: number;
  readonly maxUnfinished: number;
  readonly rangeBytes: number;
  /** Unneeded bytes between two wanted blobs that one read may span. */
  readonly gapBytes: number;
  readonly maxReads: number;
}

export const DEFAULT_PACK_RESTORE_LIMITS: PackRestoreLimits = {
  // Large batches: the larger a batch, the more of each pack one read serves (uploaders interleave files in packs).
  // But a batch's plan lives until it is served, long enough to reach the old generation, where V8 lets it pile
  // up: 8,192 files and 256 MiB (and 16,384 unfinished) peaked ~22 MiB higher than these, no faster (restore of
  // the benchmark corpus to tmpfs, 4 interleaved triples); 2,048 files and 64 MiB, 36 MiB lower but 6% slower.
  batchFiles: 4096, batchBytes: 128 * 1024 * 1024, maxUnfinished: 8192, rangeBytes: 4 * 1024 * 1024, gapBytes: 1024 * 1024, maxReads: 6,
};

export interface NeededBlob {
  readonly id: Uint8Array;
  readonly loc: BlobLocation;
}

interface FileJob {
  readonly open: () => number;
  fd: number | undefined;
  remaining: number;
  error: Error | undefined;
  readonly onDone: (fd: number | undefined, error: Error | undefined) => void;
}

interface Want {
  readonly blob: NeededBlob;
  readonly dests: [FileJob, number][];
}

export class PackRestore {
  private batch = new Map<string, Want>();
  private batchFiles = 0;
  private batchBytes = 0;
  private unfinished = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly reads: Semaphore;
  private readonly repo: Repository;
  private readonly placer: BlobPlacer;
  private readonly limits: PackRestoreLimits;

  constructor(repo: Repository, placer: BlobPlacer, limits: Partial<PackRestoreLimits> = {}) {
    this.repo = repo;
    this.placer = placer;
    this.limits = { ...DEFAULT_PACK_RESTORE_LIMITS, ...limits };
    this.reads = new Semaphore(this.limits.maxReads);
  }

  /** Registers a file whose content is `blobs`, in order; `open` opens it for writing and returns its descriptor. */
  async add(open: () => number, blobs: readonly NeededBlob[], onDone: (fd: number | undefined, error: Error | undefined) => void): Promise<void> {
    const job: FileJob = { open, fd: undefined, remaining: blobs.length, error: undefined, onDone };
    if (blobs.length === 0) {
      this.unfinished++;
      this.done(job);
      return;
    }
    this.unfinished++;
    let pos = 0;
    for (const blob of blobs) {
      const k = idKey(blob.id);
      let want = this.batch.get(k);
      if (!want) {
        want = { blob, dests: [] };
        this.batch.set(k, want);
      }
      want.dests.push([job, pos]);
      pos += blob.loc.rawLength;
      this.batchBytes += blob.loc.rawLength;
    }
    this.batchFiles++;
    if (this.batchFiles >= this.limits.batchFiles || this.batchBytes >= this.limits.batchBytes) this.send();
    while (this.unfinished >= this.limits.maxUnfinished) {
      this.send();
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async finish(): Promise<void> {
    this.send();
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  /** Sends the current batch on: its wanted blobs grouped by pack, in pack order, cut into read ranges. */
  private send(): void {
    if (this.batch.size === 0) return;
    const byPack = new Map<string, Want[]>();
    for (const w of this.batch.values()) {
      const list = byPack.get(w.blob.loc.pack.name);
      if (list) list.push(w);
      else byPack.set(w.blob.loc.pack.name, [w]);
    }
    this.batch = new Map();
    this.batchFiles = 0;
    this.batchBytes = 0;
    for (const wants of byPack.values()) {
      wants.sort((a, b) => a.blob.loc.offset - b.blob.loc.offset);
      let range: Want[] = [];
      for (const w of wants) {
        const first = range[0]?.blob.loc;
        const last = range.at(-1)?.blob.loc;
        const loc = w.blob.loc;
        if (first && last && (loc.offset - (last.offset + last.length) > this.limits.gapBytes || loc.offset + loc.length - first.offset > this.limits.rangeBytes)) {
          this.start(range);
          range = [];
        }
        range.push(w);
      }
      if (range.length > 0) this.start(range);
    }
  }

  private start(range: Want[]): void {
    const p = this.reads.run(() => this.serve(range));
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  private async serve(range: Want[]): Promise<void> {
    const first = range[0]!.blob.loc;
    const end = Math.max(...range.map((w) => w.blob.loc.offset + w.blob.loc.length));
    let results: PlaceResult;
    try {
      const sealed = await this.repo.storage.load(first.pack.name, { offset: first.offset, length: end - first.offset });
      for (const w of range) for (const [job] of w.dests) this.ensureOpen(job);
      results = await this.placer.place({
        op: 'place', key: this.repo.packKey(first), sealed,
        blobs: range.map((w) => ({
          id: w.blob.id, type: w.blob.loc.type, at: w.blob.loc.offset - first.offset, length: w.blob.loc.length, rawLength: w.blob.loc.rawLength,
          dests: w.dests.filter(([job]) => job.fd !== undefined).map(([job, pos]) => [job.fd!, pos] as const),
        })),
      });
    } catch (err) {
      results = range.map(() => ({ code: errorCode(err), message: errorMessage(err) }));
    }
    for (const [i, w] of range.entries()) {
      const r = results[i];
      for (const [job] of w.dests) {
        if (r && !job.error) job.error = new FerryError(r.code, `could not restore a blob of pack ${first.pack.name}: ${r.message}`);
        if (--job.remaining === 0) this.done(job);
      }
    }
  }

  private ensureOpen(job: FileJob): void {
    if (job.fd !== undefined || job.error) return;
    try {
      job.fd = job.open();
    } catch (err) {
      job.error = err instanceof Error ? err : new Error(String(err));
    }
  }

  private done(job: FileJob): void {
    this.unfinished--;
    this.ensureOpen(job); // a file whose every blob failed still gets created
    try {
      job.onDone(job.fd, job.error);
    } finally {
      this.waiters.shift()?.();
    }
  }
}
