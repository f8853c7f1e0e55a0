/**
 * Main-thread side of blob processing: a worker pool that scans and seals
 * files (and seals batches of tree blobs), so chunking, hashing, compression
 * and encryption use every core while the main thread walks, deduplicates
 * and writes packs. The first small seals (a backup with nothing to read
 * seals only a few trees) run on the calling thread, so such a backup
 * never starts the threads.
 */
import { availableParallelism } from 'node:os';
import { WorkerPool } from '../workers/worker-pool.ts';
import type { RepoConfig } from './config.ts';
import type { ContentScanner, FileSegment, ScanOptions, SealSpec, WholeFile } from './content.ts';
import { InlineSealer, type Sealer, type SealItem } from './sealer.ts';
import type { BlobTask } from './blob-tasks.ts';
import type { BlobPlacer, PlaceResult, PlaceTask } from './place-blobs.ts';
import { wholeArrayBuffer } from '../buffers/release-buffer.ts';

/** What is sealed on the calling thread, in all, while the workers have not been started. */
const INLINE_SEAL_BYTES = 256 * 1024;

export class BlobWorkers implements Sealer, ContentScanner, BlobPlacer {
  private readonly pool: WorkerPool;
  private readonly inline = new InlineSealer();
  /** Bytes still to seal on the calling thread before the workers start; then sealing is theirs. */
  private inlineSealBudget = INLINE_SEAL_BYTES;

  constructor(config: RepoConfig, idKey: Uint8Array, opts: { threads?: number } = {}) {
    const size = opts.threads ?? Math.max(1, Math.min(availableParallelism(), 8));
    this.pool = new WorkerPool({
      module: new URL('./blob-worker.ts', import.meta.url),
      size,
      maxQueue: size * 4,
      workerData: { gearSeed: config.chunker.seed, chunker: { minSize: config.chunker.minSize, avgSize: config.chunker.avgSize, maxSize: config.chunker.maxSize }, idKey },
    });
  }

  /** Whether the worker threads have been started; they start with the first task that is not sealed inline. */
  get started(): boolean {
    return this.pool.started;
  }

  async seal(key: Uint8Array, level: number, items: readonly SealItem[]): Promise<Uint8Array[]> {
    // A backup with no changed file seals only a few small trees (the changed ancestors): starting the
    // worker threads for them cost about 100 ms of CPU and 50 ms at the end of the job; sealing inline, 0.1 ms.
    if (!this.pool.started) {
      const bytes = items.reduce((n, i) => n + i.data.length, 0);
      if (bytes <= this.inlineSealBudget) {
        this.inlineSealBudget -= bytes;
        return this.inline.seal(key, level, items);
      }
    }
    const task: BlobTask = { op: 'seal', key, level, items: items.map((i) => ({ id: i.id, type: i.type, data: i.data })) };
    const transfer = [...new Set(items.map((i) => wholeArrayBuffer(i.data)).filter((b): b is ArrayBuffer => b !== undefined))];
    return this.pool.run<Uint8Array[]>(task, transfer);
  }

  async scanSegment(path: string, start: number, budget: number, opts: ScanOptions): Promise<FileSegment> {
    return this.pool.run<FileSegment>({ op: 'scan', path, start, budget, ...opts } satisfies BlobTask);
  }

  async readRange(path: string, offset: number, length: number, seal: SealSpec): Promise<{ id: Uint8Array; length: number; sealed: Uint8Array }> {
    return this.pool.run<{ id: Uint8Array; length: number; sealed: Uint8Array }>({ op: 'range', path, offset, length, seal } satisfies BlobTask);
  }

  async place(task: PlaceTask): Promise<PlaceResult> {
    const buf = wholeArrayBuffer(task.sealed);
    return this.pool.run<PlaceResult>(task, buf ? [buf] : []);
  }

  async readFiles(paths: readonly string[], opts: ScanOptions): Promise<WholeFile[]> {
    return this.pool.run<WholeFile[]>({ op: 'read', paths, ...opts } satisfies BlobTask);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
