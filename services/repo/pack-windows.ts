/**
 * Reads blobs through cached windows of their packs. Tree blobs are written
 * in walk order, so the trees a walk needs next sit right after the one it
 * reads now: one 1 MiB read serves hundreds of trees instead of one storage
 * round trip each. Windows are cached as promises, so concurrent readers of
 * neighbouring blobs share one load. At most `maxWindows` stay cached (LRU).
 */
import type { Storage } from '../storage/storage.ts';
import type { BlobLocation } from './master-index.ts';

interface Window {
  readonly pack: string;
  readonly start: number;
  readonly end: number;
  readonly bytes: Promise<Uint8Array>;
}

export class PackWindows {
  private readonly storage: Storage;
  private readonly windowBytes: number;
  private readonly maxWindows: number;
  /** Insertion order is recency order: a hit moves its window to the end. */
  private readonly windows = new Map<string, Window>();

  constructor(storage: Storage, opts: { windowBytes?: number; maxWindows?: number } = {}) {
    this.storage = storage;
    this.windowBytes = opts.windowBytes ?? 1024 * 1024;
    this.maxWindows = opts.maxWindows ?? 8;
  }

  /** The sealed bytes of the blob at `loc`. */
  async read(loc: BlobLocation): Promise<Uint8Array> {
    const end = loc.offset + loc.length;
    for (const [key, w] of this.windows) {
      if (w.pack === loc.pack.name && w.start <= loc.offset && end <= w.end) {
        this.windows.delete(key);
        this.windows.set(key, w);
        const bytes = await w.bytes;
        return bytes.subarray(loc.offset - w.start, end - w.start);
      }
    }
    if (loc.length >= this.windowBytes) return this.storage.load(loc.pack.name, { offset: loc.offset, length: loc.length });
    const start = loc.offset;
    const stop = Math.max(end, Math.min(loc.pack.dataEnd, start + this.windowBytes));
    const bytes = this.storage.load(loc.pack.name, { offset: start, length: stop - start });
    const entry: Window = { pack: loc.pack.name, start, end: stop, bytes };
    const key = `${entry.pack}@${entry.start}`;
    this.windows.set(key, entry);
    // A failed load must not stay cached: the next read tries again.
    bytes.catch(() => this.windows.delete(key));
    while (this.windows.size > this.maxWindows) this.windows.delete(this.windows.keys().next().value!);
    const got = await bytes;
    return got.subarray(0, loc.length);
  }
}
