/**
 * Uploader work on one batch: reads, chunks and stores the content of every
 * file event that has no content yet (but those sent ahead, files-ahead.ts),
 * and returns the batch with content filled in. A file that cannot be read becomes an error event; the rest of
 * the batch goes on. A failure to store (the repository writer's, or the
 * store gate's) rejects the whole batch instead: it is no file's fault.
 * The caller makes the blobs durable (RepoWriter.flush) before it
 * publishes the result.
 */
import type { Repository } from '../repo/repository.ts';
import type { RepoWriter } from '../repo/repo-writer.ts';
import type { PackLease } from '../repo/pack-lease.ts';
import type { TreeNode } from '../repo/tree.ts';
import { ContentErrorCode, ContentReader, type ContentScanner, type FileSegment } from '../repo/content.ts';
import { FerryError } from '../../protocol/errors.ts';
import { sameId } from '../repo/ids.ts';
import { QuickXorHash, hash64 } from '../hash/quickxor.ts';
import { Semaphore } from '../storage/semaphore.ts';
import { errorCode, errorMessage } from '../repo/error-text.ts';
import type { ScanEventOf } from './scan-events.ts';
import { withContent, type NodeBytes } from '../repo/node-bytes.ts';

/**
 * Larger files are chunked in segments of about this many bytes (plus at
 * most one chunk), or fewer once a segment has sealed SEGMENT_SEALED_BYTES:
 * each task in flight holds its segment's window and sealed chunks, so new
 * content goes in shorter segments (first backups of the benchmark corpus
 * peaked 165-171 against 179-200 MiB, 6 pairs, in the same time), while a
 * file of mostly known chunks still takes few round trips (plain 2 MiB
 * segments made backups after mutateMixed 3-4% slower).
 */
const SEGMENT_BYTES = 4 * 1024 * 1024;
const SEGMENT_SEALED_BYTES = 2 * 1024 * 1024;

/** Whole files are read in groups of at most this many files or bytes, one worker task per group. */
const GROUP_FILES = 128;
const GROUP_BYTES = 4 * 1024 * 1024;

export interface UploadStats {
  filesRead: number;
  bytesRead: number;
  errors: number;
}

/** What the uploader needs of a file's node, whichever way nodes are held: its size, and the node with content filled in. */
export interface FileNodes<N> {
  size(node: N): number;
  withContent(node: N, size: number, content: Uint8Array[], hash: bigint): N;
}

/** Nodes as objects (tests, and callers that build events themselves). */
export const fileTreeNodes: FileNodes<TreeNode> = {
  size: (n) => n.size,
  withContent: (n, size, content, hash) => ({ ...n, size, content, hash }),
};

/** Nodes as canonical bytes (the uploader actor): content is appended without decoding the rest. */
export const fileNodeBytes: FileNodes<NodeBytes> = {
  size: (n) => n.size,
  withContent: (n, size, content, hash) => withContent(n, size, content, hash, `the scan's node of ${n.name}`),
};

export interface BatchUploaderOptions<N> {
  /** How the batch's nodes are held; objects (TreeNode) unless given. */
  readonly nodes?: FileNodes<N>;
  /**
   * Started when a batch has files to read, and awaited before it stores
   * its first blob; reading and chunking go ahead meanwhile. The uploader
   * adopts orphan packs here, so that a blob an interrupted writer left in
   * a stored pack is found indexed and not stored twice. A rejection fails
   * the whole batch.
   */
  readonly beforeStore?: () => Promise<void>;
}

export class BatchUploader<N = TreeNode> {
  readonly reader = new ContentReader();
  /** Blobs this uploader added (not already stored): what the batch cost the repository. */
  readonly added = { blobs: 0, bytes: 0 };
  private readonly groups = new Semaphore(4);
  private readonly large = new Semaphore(2);
  private readonly repo: Repository;
  private readonly writer: RepoWriter;
  private readonly scanner: ContentScanner;
  /** Files up to this size are one chunk, so they are read whole and stored as one blob. */
  private readonly wholeLimit: number;
  private readonly beforeStore: () => Promise<void>;
  private readonly nodes: FileNodes<N>;
  /** Started at the batch's first file to read; stores wait for it. */
  private storeGate: Promise<void> | undefined;
  /** The gate has resolved: a chunk that arrived sealed is then stored without awaiting anything. */
  private gateOpen = false;
  /**
   * Failures of the gate and of the repository writer. They fail the whole
   * batch: a file that cannot be read becomes an error event, but a disk
   * that is full is not the file's fault, and no other file could be stored.
   */
  private readonly batchErrors = new WeakSet<object>();

  constructor(repo: Repository, writer: RepoWriter, scanner: ContentScanner, opts: BatchUploaderOptions<N> = {}) {
    this.repo = repo;
    this.writer = writer;
    this.scanner = scanner;
    this.wholeLimit = repo.config.chunker.minSize;
    this.beforeStore = opts.beforeStore ?? (() => Promise.resolve());
    this.nodes = opts.nodes ?? (fileTreeNodes as unknown as FileNodes<N>);
  }

  /** Returns the events with every readable file's content and hash filled in. */
  async process(events: readonly ScanEventOf<N>[], onProgress?: () => void): Promise<{ events: ScanEventOf<N>[]; errors: number }> {
    const out = events.slice();
    let errors = 0;
    const fail = (i: number, path: string, code: string, message: string): void => {
      errors++;
      out[i] = { t: 'x', path, code, message };
    };
    const work: Promise<void>[] = [];
    let group: number[] = [];
    let groupBytes = 0;
    const sendGroup = (): void => {
      if (group.length === 0) return;
      const members = group;
      group = [];
      groupBytes = 0;
      work.push(this.groups.run(() => this.saveWhole(events, members, out, fail, onProgress)));
    };
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (e.t !== 'f' || e.path === undefined || e.ahead === true) continue; // a file sent ahead is read by its own item
      if (this.storeGate === undefined) {
        this.storeGate = this.beforeStore();
        this.storeGate.then(
          () => (this.gateOpen = true),
          () => {}, // raised below, after the reads, even if nothing gets stored
        );
      }
      const size = this.nodes.size(e.node);
      if (size <= this.wholeLimit) {
        group.push(i);
        groupBytes += size;
        if (group.length >= GROUP_FILES || groupBytes >= GROUP_BYTES) sendGroup();
        continue;
      }
      const path = e.path;
      const meta = e.node;
      work.push(
        this.large.run(async () => {
          try {
            out[i] = { t: 'f', node: await this.saveLarge(path, meta) };
            onProgress?.();
          } catch (err) {
            if (this.batchErrors.has(err as object)) throw err;
            fail(i, path, errorCode(err), errorMessage(err));
          }
        }),
      );
    }
    sendGroup();
    await Promise.all(work);
    // Raised here too when no file got as far as storing.
    await this.storeGate;
    return { events: out, errors };
  }

  /** Marks a rejection of `p` as one that fails the batch (batchErrors). */
  private async batchLevel<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      throw this.failsBatch(err);
    }
  }

  private failsBatch(err: unknown): unknown {
    if (typeof err === 'object' && err !== null) this.batchErrors.add(err);
    return err;
  }

  /**
   * Adds a chunk of `path` at `offset` that a scan sealed under `lease`. A
   * scanner leaves out chunks the repository's known-blobs filter may have;
   * if the writer does not in fact have one (a false positive of the
   * filter), it is read and sealed again, and must still have the ID the
   * scan saw.
   */
  private store(lease: PackLease, path: string, offset: number, c: { id: Uint8Array; length: number; sealed?: Uint8Array }): Promise<void> | undefined {
    // The common case, a sealed chunk once the gate is open, allocates no promise: the per-chunk async
    // frames were 8% of a first backup's allocations on the main thread (398 against 365 MiB sampled).
    if (this.gateOpen && c.sealed !== undefined) {
      this.addSealed(lease, c.id, c.sealed, c.length);
      return undefined;
    }
    return this.storeAfterGate(lease, path, offset, c);
  }

  private async storeAfterGate(lease: PackLease, path: string, offset: number, c: { id: Uint8Array; length: number; sealed?: Uint8Array }): Promise<void> {
    await this.batchLevel(this.storeGate ?? Promise.resolve());
    let sealed = c.sealed;
    if (sealed === undefined) {
      if (this.writer.has(c.id)) return;
      const again = await this.scanner.readRange(path, offset, c.length, lease.seal);
      if (!sameId(again.id, c.id)) {
        throw new FerryError(ContentErrorCode.Changed, `${path} changed while it was read (bytes ${offset}..${offset + c.length} differ on a second read); it is read again by the next backup`, {
          details: { path, offset },
        });
      }
      sealed = again.sealed;
    }
    this.addSealed(lease, c.id, sealed, c.length);
  }

  private addSealed(lease: PackLease, id: Uint8Array, sealed: Uint8Array, length: number): void {
    let added: boolean;
    try {
      added = this.writer.addSealed(lease, id, sealed, length);
    } catch (err) {
      throw this.failsBatch(err);
    }
    if (added) {
      this.added.blobs++;
      this.added.bytes += length;
    }
  }

  /** Reads and seals a group of one-chunk files on a worker, then stores each as one blob. */
  private async saveWhole(
    events: readonly ScanEventOf<N>[],
    members: readonly number[],
    out: ScanEventOf<N>[],
    fail: (i: number, path: string, code: string, message: string) => void,
    onProgress: (() => void) | undefined,
  ): Promise<void> {
    const files = members.map((i) => events[i] as ScanEventOf<N> & { t: 'f'; path: string });
    const lease = await this.batchLevel(this.writer.lease(files.reduce((n, f) => n + this.nodes.size(f.node), 0)));
    try {
      const read = await this.scanner.readFiles(
        files.map((f) => f.path),
        { seal: lease.seal, known: this.repo.index.known.handle },
      );
      for (let k = 0; k < members.length; k++) {
        const r = read[k]!;
        const f = files[k]!;
        if (!r.ok) {
          fail(members[k]!, f.path, r.code, r.message);
          continue;
        }
        const size = r.size;
        this.reader.noteRead(size, true);
        try {
          const pending = size > 0 ? this.store(lease, f.path, 0, { id: r.id, length: size, ...(r.sealed === undefined ? {} : { sealed: r.sealed }) }) : undefined;
          if (pending !== undefined) await pending;
        } catch (err) {
          if (this.batchErrors.has(err as object)) throw err;
          fail(members[k]!, f.path, errorCode(err), errorMessage(err));
          continue;
        }
        out[members[k]!] = { t: 'f', node: this.nodes.withContent(f.node, size, size > 0 ? [r.id] : [], r.hash) };
        onProgress?.();
      }
    } finally {
      this.writer.release(lease);
    }
  }

  /**
   * Chunks and seals a file segment by segment on the workers, asking for
   * the next segment before storing the current one, so reading and sealing
   * overlap with storing while at most two segments of the file are in
   * memory. Each segment holds a lease on a pack until its chunks are added.
   * The file's content hash is merged from each segment's fold, which the
   * worker computed while it had the bytes.
   */
  private async saveLarge(path: string, meta: N): Promise<N> {
    const metaSize = this.nodes.size(meta);
    const qx = new QuickXorHash();
    const content: Uint8Array[] = [];
    let size = 0;
    let first = true;
    const scan = async (start: number): Promise<{ seg: FileSegment; lease: PackLease }> => {
      // The lease is taken here, not by the caller: waiting for one while holding another could wait forever.
      const lease = await this.batchLevel(this.writer.lease(Math.min(SEGMENT_BYTES, Math.max(0, metaSize - start))));
      try {
        return { seg: await this.scanner.scanSegment(path, start, SEGMENT_BYTES, { seal: lease.seal, known: this.repo.index.known.handle, sealBudget: SEGMENT_SEALED_BYTES }), lease };
      } catch (err) {
        this.writer.release(lease);
        throw err;
      }
    };
    let pending = scan(0);
    try {
      for (;;) {
        const { seg, lease } = await pending;
        try {
          if (!seg.eof) pending = scan(seg.next);
          qx.merge(seg.hashFold, seg.next);
          let bytes = 0;
          for (const c of seg.chunks) {
            bytes += c.length;
            content.push(c.id);
            const pending = this.store(lease, path, c.offset, c);
            if (pending !== undefined) await pending;
          }
          this.reader.noteRead(bytes, first);
          first = false;
          size += bytes;
        } finally {
          this.writer.release(lease);
        }
        if (seg.eof) break;
      }
    } catch (err) {
      // A segment requested ahead is no longer wanted; its lease goes back (release is idempotent).
      pending.then(({ lease }) => this.writer.release(lease)).catch(() => {});
      throw err;
    }
    return this.nodes.withContent(meta, size, content, hash64(qx.digest()));
  }
}
