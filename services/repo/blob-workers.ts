/**
 * Main-thread side of blob processing: a worker pool that scans files and
 * seals batches, so chunking, hashing, compression and encryption use every
 * core while the main thread walks, deduplicates and writes packs.
 */
import { availableParallelism } from 'node:os';
import { WorkerPool } from '../workers/worker-pool.ts';
import type { RepoConfig } from './config.ts';
import type { ContentScanner, FileSegment, WholeFile } from './content.ts';
import type { Sealer, SealItem } from './sealer.ts';
import type { BlobTask } from './blob-tasks.ts';
import type { KnownBlobsHandle } from './known-blobs.ts';
import type { BlobPlacer, PlaceResult, PlaceTask } from './place-blobs.ts';

const transferable = (b: Uint8Array): ArrayBuffer | undefined =>
  b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer ? b.buffer : undefined;

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
    const transfer = [...new Set(items.map((i) => transferable(i.data)).filter((b): b is ArrayBuffer => b !== undefined))];
    return this.pool.run<Uint8Array[]>(task, transfer);
  }

  async scanSegment(path: string, start: number, budget: number, known?: KnownBlobsHandle): Promise<FileSegment> {
    const task: BlobTask = { op: 'scan', path, start, budget, ...(known === undefined ? {} : { known }) };
    return this.pool.run<FileSegment>(task);
  }

  async readRange(path: string, offset: number, length: number): Promise<{ id: Uint8Array; data: Uint8Array }> {
    const task: BlobTask = { op: 'range', path, offset, length };
    return this.pool.run<{ id: Uint8Array; data: Uint8Array }>(task);
  }

  async place(task: PlaceTask): Promise<PlaceResult> {
    const buf = transferable(task.sealed);
    return this.pool.run<PlaceResult>(task, buf ? [buf] : []);
  }

  async readFiles(paths: readonly string[], known?: KnownBlobsHandle): Promise<WholeFile[]> {
    const task: BlobTask = { op: 'read', paths, ...(known === undefined ? {} : { known }) };
    return this.pool.run<WholeFile[]>(task);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
