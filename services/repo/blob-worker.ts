/**
 * Worker-thread side of blob processing (started by blob-workers.ts).
 * Five tasks: `scan` chunks a segment of a file with FastCDC, IDs each
 * chunk, seals the chunks the repository lacks and folds the segment into
 * the file's QuickXorHash; `read` reads small files whole, IDs, hashes and
 * seals them; `range` reads and seals one chunk again; `seal` compresses
 * and encrypts a batch of (tree) blobs for one pack; `place` opens
 * restored blobs and writes them into files. All are CPU-bound, which is
 * why they live here. File content is sealed on the thread that read it, so
 * plaintext never crosses threads on its way into a pack.
 */
import { workerData } from 'node:worker_threads';
import { serveTasks } from '../workers/worker-pool.ts';
import { chunkFile, fileWindowBytes, gearTable } from './chunker.ts';
import { QuickXorHash, hash64 } from '../hash/quickxor.ts';
import { blobId } from '../crypto/tenant-keys.ts';
import { BlobType, sealBlob } from './blob.ts';
import type { BlobTask } from './blob-tasks.ts';
import type { FileChunk, FileSegment, SealSpec, WholeFile } from './content.ts';
import { readRangeSync, readWholeSync } from './read-whole.ts';
import { KnownBlobsView } from './known-blobs.ts';
import { errorCode, errorMessage } from './error-text.ts';
import { placeBlobs } from './place-blobs.ts';
import { GarbageBudget } from '../workers/garbage-budget.ts';
import { releaseBuffer, wholeArrayBuffer } from '../buffers/release-buffer.ts';

const init = workerData as { gearSeed: Uint8Array; chunker: { minSize: number; avgSize: number; maxSize: number }; idKey: Uint8Array };
const gear = gearTable(init.gearSeed);
/** The chunker's read window, reused by every scan on this thread (scans are synchronous: one at a time). */
let scratch: Uint8Array | undefined;
/** Whole files are read into this, one at a time (see `read`): only their sealed forms leave. */
let wholeScratch: Uint8Array | undefined;

/**
 * Buffers that cannot be freed at once: decrypted blobs that placing wrote
 * as views (uncompressed ones), and tree blobs that arrived cloned inside a
 * larger buffer. Collect every 4 MiB of them. Sealing itself leaves no large
 * garbage (zstd writes into a reused buffer, and seal() frees its copy). At
 * 16 MiB an initial backup of the benchmark corpus peaked ~55 MiB higher
 * (two threads), when sealing still left its buffers to the collector; a
 * scavenge of this thread's small heap costs about a millisecond.
 */
const garbage = new GarbageBudget(4 * 1024 * 1024);

/** Seals a data blob for the main thread to append to a pack, and lists its buffer for transfer. */
function sealData(seal: SealSpec, id: Uint8Array, plaintext: Uint8Array, transfer: ArrayBuffer[]): Uint8Array {
  const sealed = ownBuffer(sealBlob(seal.key, id, BlobType.Data, plaintext, seal.level));
  transfer.push(sealed.buffer as ArrayBuffer);
  return sealed;
}

/** An ArrayBuffer we may transfer: the view must own all of it. */
function ownBuffer(b: Uint8Array): Uint8Array {
  return wholeArrayBuffer(b) !== undefined ? b : b.slice();
}

serveTasks((task: BlobTask) => {
  garbage.collectIfDue();
  if (task.op === 'seal') {
    const out = task.items.map((i) => ownBuffer(sealBlob(task.key, i.id, i.type, i.data, task.level)));
    // This thread's own (transferred, or cloned with the buffer around it), read by nothing else now.
    for (const i of task.items) if (!releaseBuffer(i.data)) garbage.note(i.data.length);
    return { result: out, transfer: out.map((o) => o.buffer as ArrayBuffer) };
  }
  if (task.op === 'place') {
    for (const b of task.blobs) garbage.note(b.rawLength); // at most: compressed blobs' frames are released by openBlob, their plaintexts by placeBlobs
    const result = placeBlobs(task);
    releaseBuffer(task.sealed); // this thread's own copy (transferred or cloned), read by nothing else
    return { result };
  }
  if (task.op === 'read') {
    // Synchronous reads: this thread has nothing else to do, and a sync read
    // costs a few syscalls where an async one also costs thread-pool hand-offs.
    // Every file is read into one reused buffer: only its sealed form leaves.
    const known = task.known === undefined ? undefined : new KnownBlobsView(task.known);
    wholeScratch ??= new Uint8Array(init.chunker.minSize);
    const transfer: ArrayBuffer[] = [];
    const result = task.paths.map((path): WholeFile => {
      try {
        const bytes = readWholeSync(path, wholeScratch);
        const id = blobId(init.idKey, bytes);
        const hash = hash64(new QuickXorHash().update(bytes).digest());
        const sealed = known?.mayHave(id) ? undefined : sealData(task.seal, id, bytes, transfer);
        return { ok: true, size: bytes.length, id, hash, ...(sealed === undefined ? {} : { sealed }) };
      } catch (err) {
        return { ok: false, code: errorCode(err), message: errorMessage(err) };
      }
    });
    return { result, transfer };
  }
  if (task.op === 'range') {
    const data = readRangeSync(task.path, task.offset, task.length);
    const id = blobId(init.idKey, data);
    const transfer: ArrayBuffer[] = [];
    return { result: { id, length: data.length, sealed: sealData(task.seal, id, data, transfer) }, transfer };
  }
  const known = task.known === undefined ? undefined : new KnownBlobsView(task.known);
  const chunks: FileChunk[] = [];
  const transfer: ArrayBuffer[] = [];
  const qx = new QuickXorHash(task.start);
  let offset = task.start;
  let sealedBytes = 0;
  let eof = true;
  scratch ??= new Uint8Array(fileWindowBytes(init.chunker));
  // Views into the read window: chunks are sealed straight from it, and only
  // those the repository lacks.
  for (const c of chunkFile(task.path, gear, init.chunker, { start: task.start, scratch, views: true })) {
    const id = blobId(init.idKey, c);
    qx.update(c);
    const sealed = known?.mayHave(id) ? undefined : sealData(task.seal, id, c, transfer);
    chunks.push({ id, offset, length: c.length, ...(sealed === undefined ? {} : { sealed }) });
    offset += c.length;
    if (sealed !== undefined) sealedBytes += c.length;
    if (offset - task.start >= task.budget || sealedBytes >= (task.sealBudget ?? Infinity)) {
      eof = false; // leaving the loop closes the file; the caller asks again from `offset`
      break;
    }
  }
  const result: FileSegment = { chunks, next: offset, eof, hashFold: qx.fold() };
  return { result, transfer };
});
