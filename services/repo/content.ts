/**
 * Reading file content for a backup. Every byte of file content a backup
 * reads is counted by a ContentReader, which counts files and bytes; that is
 * how tests prove an unchanged backup reads nothing.
 */
import type { KnownBlobsHandle } from './known-blobs.ts';

export const ContentErrorCode = {
  /** A file's bytes differed between two reads of the same backup. */
  Changed: 'content.changed',
} as const;

/**
 * How a scanner seals the chunks it returns: with the key of the data pack
 * they are bound for (RepoWriter.lease), at this zstd level. Sealing where
 * the bytes were read keeps plaintext on the thread that read it.
 */
export interface SealSpec {
  readonly key: Uint8Array;
  readonly level: number;
}

/** What every scanner call is given: the seal, and the known-blobs filter whose chunks it may leave out. */
export interface ScanOptions {
  readonly seal: SealSpec;
  readonly known?: KnownBlobsHandle;
  /**
   * scanSegment() also ends the segment once the chunks it sealed hold this
   * many bytes: where most chunks are new, a shorter segment holds less
   * memory, and where most are known, the scan still covers `budget`.
   */
  readonly sealBudget?: number;
}

/**
 * One chunk of a file. `sealed` is the chunk as a data blob sealed with the
 * scan's SealSpec (blob.ts), `length` its plaintext length. `sealed` is left
 * out when the known-blobs filter said the repository may have the chunk
 * already: the caller confirms that with the index, and reads the range
 * again (readRange) in the rare case the filter was wrong.
 */
export interface FileChunk {
  readonly id: Uint8Array;
  /** Offset of the chunk in its file. */
  readonly offset: number;
  readonly length: number;
  readonly sealed?: Uint8Array;
}

/**
 * Consecutive chunks of one file starting at a chunk boundary. `next` is
 * where the following segment starts (the end of the last chunk); `eof`
 * says the file ended with this segment. `hashFold` is the QuickXorHash
 * fold of the segment's bytes at their place in the file, so the caller
 * merges segments into the file's hash without reading the bytes again.
 */
export interface FileSegment {
  readonly chunks: readonly FileChunk[];
  readonly next: number;
  readonly eof: boolean;
  readonly hashFold: Uint8Array;
}

/** A whole file read as one blob (sealed, or left out, as for FileChunk), or why it could not be read. */
export type WholeFile =
  | { readonly ok: true; readonly size: number; readonly sealed?: Uint8Array; readonly id: Uint8Array; readonly hash: bigint }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** Chunks, hashes, IDs and seals files. Implemented on worker threads (blob-workers.ts). */
export interface ContentScanner {
  /**
   * Chunks `path` from byte `start`, which must be 0 or the `next` of the
   * previous segment (a chunk boundary, so the cuts equal those of chunking
   * the whole file at once), and returns chunks until at least `budget` bytes
   * (or `opts.sealBudget` bytes of sealed chunks) or the end of the file.
   * Memory per call is bounded by budget + the largest chunk, whatever the
   * file's size. Chunks `opts.known` may have
   * come back without their bytes.
   */
  scanSegment(path: string, start: number, budget: number, opts: ScanOptions): Promise<FileSegment>;
  /**
   * Reads each file whole, as one blob: its bytes, blob ID and content hash.
   * For files no longer than the chunker's minimum size, which are always one
   * chunk. Results are in the order of `paths`; a file that cannot be read
   * comes back as its error and does not affect the others.
   */
  readFiles(paths: readonly string[], opts: ScanOptions): Promise<WholeFile[]>;
  /**
   * Reads `length` bytes of `path` from `offset` (fewer if the file ends
   * first), sealed, with their blob ID and length: a chunk a scan left out,
   * for the caller to check against the ID the scan reported.
   */
  readRange(path: string, offset: number, length: number, seal: SealSpec): Promise<{ readonly id: Uint8Array; readonly length: number; readonly sealed: Uint8Array }>;
}

export class ContentReader {
  filesRead = 0;
  bytesRead = 0;

  /** Counts a file whose content a scanner read on our behalf (bytes may come in several calls). */
  noteRead(bytes: number, newFile: boolean): void {
    if (newFile) this.filesRead++;
    this.bytesRead += bytes;
  }
}
