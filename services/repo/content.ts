/**
 * Reading file content for a backup. Every byte of file content a backup
 * reads goes through a ContentReader, which counts files and bytes; that is
 * how tests prove an unchanged backup reads nothing.
 */
import { open, readFile } from 'node:fs/promises';

export interface FileChunk {
  readonly id: Uint8Array;
  readonly offset: number;
  readonly length: number;
  /** Present when the scanner kept the bytes (files up to its keep limit). */
  readonly data?: Uint8Array | undefined;
}

export interface ScannedFile {
  readonly chunks: readonly FileChunk[];
  readonly hash: bigint;
  readonly size: number;
}

/** Chunks, hashes and IDs a file. Implemented on worker threads (blob-workers.ts). */
export interface ContentScanner {
  scanFile(path: string, size: number): Promise<ScannedFile>;
}

export class ContentReader {
  filesRead = 0;
  bytesRead = 0;

  async readWhole(path: string): Promise<Uint8Array> {
    const data = await readFile(path);
    this.filesRead++;
    this.bytesRead += data.length;
    return data;
  }

  /**
   * Reads ranges of one file, one at a time, as the consumer asks for them,
   * so a large file never sits in memory whole.
   */
  async *readRanges(path: string, ranges: Iterable<{ offset: number; length: number }>): AsyncGenerator<Uint8Array> {
    const fh = await open(path, 'r');
    try {
      for (const r of ranges) {
        const buf = Buffer.allocUnsafeSlow(r.length);
        const { bytesRead } = await fh.read(buf, 0, r.length, r.offset);
        this.bytesRead += bytesRead;
        yield bytesRead === r.length ? buf : buf.subarray(0, bytesRead);
      }
    } finally {
      await fh.close();
    }
  }

  /** Counts a file whose content a scanner read on our behalf. */
  noteScanned(bytes: number): void {
    this.filesRead++;
    this.bytesRead += bytes;
  }
}
