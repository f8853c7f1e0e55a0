/**
 * Uploader work on one batch: reads, chunks and stores the content of every
 * file event that has no content yet, and returns the batch with content
 * filled in. A file that cannot be read becomes an error event; the rest of
 * the batch goes on. The caller makes the blobs durable (RepoWriter.flush)
 * before it publishes the result.
 */
import type { Repository } from '../repo/repository.ts';
import type { RepoWriter } from '../repo/repo-writer.ts';
import { BlobType } from '../repo/blob.ts';
import type { TreeNode } from '../repo/tree.ts';
import { ContentReader, type ContentScanner } from '../repo/content.ts';
import { blobId } from '../crypto/tenant-keys.ts';
import { hash64, quickXor } from '../hash/quickxor.ts';
import { Semaphore } from '../storage/semaphore.ts';
import { errorCode, errorMessage } from '../repo/error-text.ts';
import type { ScanEvent } from './scan-events.ts';

/** Files up to this size are read and hashed on the calling thread; larger ones go to a scanner worker. */
const SMALL_FILE = 64 * 1024;

export interface UploadStats {
  filesRead: number;
  bytesRead: number;
  errors: number;
}

export class BatchUploader {
  readonly reader = new ContentReader();
  /** Blobs this uploader added (not already stored): what the batch cost the repository. */
  readonly added = { blobs: 0, bytes: 0 };
  private readonly small = new Semaphore(16);
  private readonly large = new Semaphore(4);
  private readonly repo: Repository;
  private readonly writer: RepoWriter;
  private readonly scanner: ContentScanner;

  constructor(repo: Repository, writer: RepoWriter, scanner: ContentScanner) {
    this.repo = repo;
    this.writer = writer;
    this.scanner = scanner;
  }

  /** Returns the events with every readable file's content and hash filled in. */
  async process(events: readonly ScanEvent[], onProgress?: () => void): Promise<{ events: ScanEvent[]; errors: number }> {
    let errors = 0;
    const out = await Promise.all(
      events.map(async (e): Promise<ScanEvent> => {
        if (e.t !== 'f' || e.path === undefined) return e;
        const path = e.path;
        const sem = e.node.size <= SMALL_FILE ? this.small : this.large;
        return sem.run(async () => {
          try {
            const node = e.node.size <= SMALL_FILE ? await this.saveSmall(path, e.node) : await this.saveLarge(path, e.node);
            onProgress?.();
            return { t: 'f', node };
          } catch (err) {
            errors++;
            return { t: 'x', path, code: errorCode(err), message: errorMessage(err) };
          }
        });
      }),
    );
    return { events: out, errors };
  }

  private async store(id: Uint8Array, data: Uint8Array): Promise<void> {
    const bytes = data.length;
    if (await this.writer.addBlob(BlobType.Data, id, data)) {
      this.added.blobs++;
      this.added.bytes += bytes;
    }
  }

  private async saveSmall(path: string, meta: TreeNode): Promise<TreeNode> {
    const data = await this.reader.readWhole(path);
    const hash = hash64(quickXor(data));
    if (data.length === 0) return { ...meta, size: 0, content: [], hash };
    const id = blobId(this.repo.keys.idKey, data);
    const size = data.length; // store() may hand `data` to a worker thread, detaching it
    await this.store(id, data);
    return { ...meta, size, content: [id], hash };
  }

  private async saveLarge(path: string, meta: TreeNode): Promise<TreeNode> {
    const scanned = await this.scanner.scanFile(path, meta.size);
    this.reader.noteScanned(scanned.size);
    for (const c of scanned.chunks) {
      if (c.data !== undefined) await this.store(c.id, c.data);
    }
    // Chunks of files too large to come back whole are read again, one at a time, if still unknown.
    const missing = scanned.chunks.filter((c) => c.data === undefined && !this.writer.has(c.id));
    let i = 0;
    for await (const data of this.reader.readRanges(path, missing)) {
      const c = missing[i++]!;
      // A chunk read a second time must still be the chunk that was hashed, or the blob would lie about its ID.
      if (!Buffer.from(blobId(this.repo.keys.idKey, data)).equals(c.id)) {
        throw new Error(`file changed while it was being read (at byte ${c.offset}); back it up again`);
      }
      await this.store(c.id, data);
    }
    return { ...meta, size: scanned.size, content: scanned.chunks.map((c) => c.id), hash: scanned.hash };
  }
}
