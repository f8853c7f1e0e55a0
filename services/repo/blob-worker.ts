/**
 * Worker-thread side of blob processing (started by blob-workers.ts).
 * Two tasks: `scan` chunks a file with FastCDC and computes each chunk's ID
 * and the file's QuickXorHash; `seal` compresses and encrypts a batch of
 * blobs for one pack. Both are CPU-bound, which is why they live here.
 */
import { workerData } from 'node:worker_threads';
import { serveTasks } from '../workers/worker-pool.ts';
import { chunkFile, gearTable } from './chunker.ts';
import { QuickXorHash, hash64 } from '../hash/quickxor.ts';
import { blobId } from '../crypto/tenant-keys.ts';
import { sealBlob } from './blob.ts';
import type { BlobTask, ScanResult } from './blob-tasks.ts';
import type { FileChunk } from './content.ts';

const init = workerData as { gearSeed: Uint8Array; chunker: { minSize: number; avgSize: number; maxSize: number }; idKey: Uint8Array; keepLimit: number };
const gear = gearTable(init.gearSeed);

/** An ArrayBuffer we may transfer: the view must own all of it. */
function ownBuffer(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice();
}

serveTasks(async (task: BlobTask) => {
  if (task.op === 'seal') {
    const out = task.items.map((i) => ownBuffer(sealBlob(task.key, i.id, i.type, i.data, task.level)));
    return { result: out, transfer: out.map((o) => o.buffer as ArrayBuffer) };
  }
  const keep = task.size <= init.keepLimit;
  const qx = new QuickXorHash();
  const chunks: FileChunk[] = [];
  const transfer: ArrayBuffer[] = [];
  let offset = 0;
  for await (const c of chunkFile(task.path, gear, init.chunker)) {
    qx.update(c);
    const data = keep ? ownBuffer(c) : undefined;
    if (data) transfer.push(data.buffer as ArrayBuffer);
    chunks.push({ id: blobId(init.idKey, c), offset, length: c.length, data });
    offset += c.length;
  }
  const result: ScanResult = { chunks, hash: hash64(qx.digest()), size: offset };
  return { result, transfer };
});
