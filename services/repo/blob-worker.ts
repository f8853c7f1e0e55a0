/**
 * Worker-thread side of blob processing (started by blob-workers.ts).
 * Four tasks: `scan` chunks a segment of a file with FastCDC, IDs each
 * chunk and folds the segment into the file's QuickXorHash; `read` reads
 * small files whole, IDs and hashes them; `seal` compresses and encrypts a
 * batch of blobs for one pack; `place` opens
 * restored blobs and writes them into files. All are CPU-bound, which is
 * why they live here.
 */
import { workerData } from 'node:worker_threads';
import { serveTasks } from '../workers/worker-pool.ts';
import { chunkFile, gearTable } from './chunker.ts';
import { QuickXorHash, hash64 } from '../hash/quickxor.ts';
import { blobId } from '../crypto/tenant-keys.ts';
import { sealBlob } from './blob.ts';
import type { BlobTask } from './blob-tasks.ts';
import type { FileChunk, FileSegment, WholeFile } from './content.ts';
import { readWholeSync } from './read-whole.ts';
import { errorCode, errorMessage } from './error-text.ts';
import { placeBlobs } from './place-blobs.ts';
import { GarbageBudget } from '../workers/garbage-budget.ts';

const init = workerData as { gearSeed: Uint8Array; chunker: { minSize: number; avgSize: number; maxSize: number }; idKey: Uint8Array };
const gear = gearTable(init.gearSeed);
/** The chunker's read window, reused by every scan on this thread (scans are synchronous: one at a time). */
let scratch: Uint8Array | undefined;

/** Sealing and placing leave their inputs and intermediate buffers behind: collect every 16 MiB of them. */
const garbage = new GarbageBudget(16 * 1024 * 1024);

/** An ArrayBuffer we may transfer: the view must own all of it. */
function ownBuffer(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice();
}

serveTasks((task: BlobTask) => {
  garbage.collectIfDue();
  if (task.op === 'seal') {
    const out = task.items.map((i) => ownBuffer(sealBlob(task.key, i.id, i.type, i.data, task.level)));
    for (const i of task.items) garbage.note(2 * i.data.length); // the plaintext and its compressed form
    return { result: out, transfer: out.map((o) => o.buffer as ArrayBuffer) };
  }
  if (task.op === 'place') {
    garbage.note(task.sealed.length);
    for (const b of task.blobs) garbage.note(2 * b.rawLength); // decrypted and decompressed
    return { result: placeBlobs(task) };
  }
  if (task.op === 'read') {
    // Synchronous reads: this thread has nothing else to do, and a sync read
    // costs a few syscalls where an async one also costs thread-pool hand-offs.
    const transfer: ArrayBuffer[] = [];
    const result = task.paths.map((path): WholeFile => {
      try {
        const data = readWholeSync(path);
        transfer.push(data.buffer as ArrayBuffer);
        return { ok: true, data, id: blobId(init.idKey, data), hash: hash64(new QuickXorHash().update(data).digest()) };
      } catch (err) {
        return { ok: false, code: errorCode(err), message: errorMessage(err) };
      }
    });
    return { result, transfer };
  }
  const chunks: FileChunk[] = [];
  const qx = new QuickXorHash(task.start);
  let offset = task.start;
  let eof = true;
  scratch ??= new Uint8Array(2 * init.chunker.maxSize);
  for (const c of chunkFile(task.path, gear, init.chunker, { start: task.start, scratch })) {
    chunks.push({ id: blobId(init.idKey, c), offset, data: c });
    qx.update(c);
    offset += c.length;
    if (offset - task.start >= task.budget) {
      eof = false; // leaving the loop closes the file; the caller asks again from `offset`
      break;
    }
  }
  const result: FileSegment = { chunks, next: offset, eof, hashFold: qx.fold() };
  return { result, transfer: chunks.map((c) => c.data.buffer as ArrayBuffer) };
});
