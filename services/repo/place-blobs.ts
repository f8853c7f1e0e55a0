/**
 * Restore's unit of work: open the blobs of one read range of a pack and
 * write each to every place that restored files want it. It runs on a blob
 * worker (blob-worker.ts), so decrypting, decompressing and writing leave
 * the main thread. File descriptors belong to the process, so the main
 * thread opens and closes the files and a worker only writes to them.
 *
 * Contract: `sealed` holds the pack's bytes from some offset; each blob's
 * `at` is relative to it. A blob that fails to open or write yields an
 * error entry and the rest go on; one result per blob, in order.
 */
import { writeSync } from 'node:fs';
import { openBlob, type BlobType } from './blob.ts';
import { errorCode, errorMessage } from './error-text.ts';
import { releaseBuffer } from '../buffers/release-buffer.ts';

export interface PlacedBlob {
  readonly id: Uint8Array;
  readonly type: BlobType;
  readonly at: number;
  readonly length: number;
  readonly rawLength: number;
  /** [file descriptor, position in the file] for every place the blob goes. */
  readonly dests: readonly (readonly [number, number])[];
}

export interface PlaceTask {
  readonly op: 'place';
  /** The pack's key (all blobs of a task are from one pack). */
  readonly key: Uint8Array;
  readonly sealed: Uint8Array;
  readonly blobs: readonly PlacedBlob[];
}

/** Per blob: null when it was written everywhere, else what went wrong. */
export type PlaceResult = ({ readonly code: string; readonly message: string } | null)[];

/** Runs a place task (on whichever thread calls it). */
export interface BlobPlacer {
  place(task: PlaceTask): Promise<PlaceResult>;
}

/** Places blobs on the calling thread: for a single small restore, where starting workers costs more. */
export const inlinePlacer: BlobPlacer = { place: async (task) => placeBlobs(task) };

export function placeBlobs(task: PlaceTask): PlaceResult {
  return task.blobs.map((b) => {
    try {
      const data = openBlob(task.key, b.id, b.type, task.sealed.subarray(b.at, b.at + b.length), 'blob');
      if (data.length !== b.rawLength) return { code: 'repo.corrupt', message: `a blob holds ${data.length} bytes where the index says ${b.rawLength}` };
      for (const [fd, pos] of b.dests) {
        for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done, pos + done);
      }
      releaseBuffer(data); // decrypted and decompressed here, written everywhere: free it now, not at a GC
      return null;
    } catch (err) {
      return { code: errorCode(err), message: errorMessage(err) };
    }
  });
}
