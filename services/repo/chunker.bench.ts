/**
 * Chunker throughput on 256 MiB of random data (default params).
 * Run: node services/repo/chunker.bench.ts [MiB]
 */
import { randomFillSync, randomBytes } from 'node:crypto';
import { chunkLengths, chunkStream, gearTable, DEFAULT_CHUNKER_PARAMS } from './chunker.ts';

const MiB = 1024 * 1024;
const size = Number(process.argv[2] ?? 256) * MiB;
const data = new Uint8Array(size);
for (let off = 0; off < size; off += 64 * MiB) randomFillSync(data, off, Math.min(64 * MiB, size - off));
const gear = gearTable(randomBytes(32));

function report(label: string, ms: number, chunks: number): void {
  console.log(`${label}: ${((size / MiB) / (ms / 1000)).toFixed(0)} MB/s (${chunks} chunks, ${ms.toFixed(0)} ms)`);
}

async function* pieces(pieceSize: number): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < size; off += pieceSize) yield data.subarray(off, Math.min(size, off + pieceSize));
}

for (let round = 0; round < 3; round++) {
  let t = performance.now();
  const lengths = chunkLengths(data, gear, DEFAULT_CHUNKER_PARAMS);
  report(`findCut whole buffer   #${round}`, performance.now() - t, lengths.length);

  t = performance.now();
  let n = 0;
  for await (const chunk of chunkStream(pieces(MiB), gear)) n += chunk.length > 0 ? 1 : 0;
  report(`chunkStream 1 MiB reads #${round}`, performance.now() - t, n);
}
