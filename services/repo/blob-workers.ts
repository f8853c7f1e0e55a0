/**
 * Main-thread side of blob processing: a worker pool that scans and seals
 * files (and seals batches of tree blobs), so chunking, hashing, compression
 * and encryption use every core while the main thread walks, deduplicates
 * and writes packs.
 */
import { availableParallelism } from 'node:os';
import { WorkerPool } from '../workers/worker-pool.ts';
import type { RepoConfig } from './config.ts';
import type { ContentScanner, FileSegment, ScanOptions, SealSpec, WholeFile } from './content.ts';
import type { Sealer, SealItem } from './sealer.ts';
import type { BlobTask } from './blob-tasks.ts';
import type { BlobPlacer, PlaceResult, PlaceTask } from './place-blobs.ts';
import { wholeArrayBuffer } from '../buffers/release-buffer.ts';

export class BlobWorkers implements Sealer, ContentScanner, BlobPlacer {
  private readonly pool: WorkerPool;

  constructor(config: RepoConfig, idKey: Uint8Array, opts: { threads?: number } = {}) {
    const size = opts.threads ?? Math.max(1, Math.min(availableParallelism(), 8));
    this.pool = new WorkerPool({
      module: new URL('./blob-worker.ts', import.meta.url),
      size,
      maxQueue: size * 4,
      workerData: { gearSeed: config.chunker.seed, chunker: { minSize: config.chunker.minSize, avgSize: config.chunker.avgSize, maxSize: config.chunker.maxSize }, idKey },
    });
  }

  async seal(key: Uint8Array, level: number, items: readonly SealItem[]): Promise<Uint8Array[]> {
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
