/**
 * The scanner's side of the records benchmark: a synthetic scan event stream
 * (what walkSource yields, minus the filesystem) and the scanner's publish
 * loop (actors/scanner.ts) with a window of outstanding PubAcks.
 */
import type { Publisher } from '../../actors/runtime/publisher.ts';
import { subjects } from '../../protocol/subjects.ts';
import { batchEvents, DEFAULT_BATCH_LIMITS } from '../../services/jobs/batcher.ts';
import type { ScanEvent } from '../../services/jobs/scan-events.ts';
import type { WalkItem } from '../../services/jobs/scan-walker.ts';
import type { TreeNode } from '../../services/repo/tree.ts';
import { seededRandom } from '../../services/storage/prng.ts';

export const FILES_PER_DIR = 1000;

const WORDS = ['photo', 'notes', 'draft', 'table', 'index', 'build', 'cache', 'model'];
const EXTS = ['jpg', 'txt', 'pdf', 'csv', 'dat', 'bin', 'log', 'xml'];
const EPOCH_NS = 1_700_000_000_000_000_000n;

/** Content IDs of unchanged files: 32-byte chunk IDs from a pool (their bytes do not matter on the wire). */
const idPool: Uint8Array[] = (() => {
  const r = seededRandom(7);
  return Array.from({ length: 4096 }, () => Uint8Array.from({ length: 32 }, () => Math.floor(r() * 256)));
})();

/**
 * The scan's event stream as the walker yields it (walkSourceInArrays): `f`
 * events in name order with their positions, in one array per directory of
 * FILES_PER_DIR. A fraction `uploadRatio`
 * are new or changed files (absolute `path`, no content); the others are
 * unchanged files carrying one content ID and the hash from the parent
 * snapshot. Names are 15 bytes ("000123-photo.jpg"), sizes log-uniform from
 * 1 B to 1.2 MB (mean ~86 KB, so most batches close at maxFiles), times in
 * ns, inode, device.
 */
export async function* scanItems(files: number, uploadRatio: number, seed: number): AsyncGenerator<readonly WalkItem[]> {
  const r = seededRandom(seed);
  let dirItems: WalkItem[] = [];
  for (let i = 0; i < files; i++) {
    const dir = `dir${String(Math.floor(i / FILES_PER_DIR)).padStart(5, '0')}`;
    const k = i % FILES_PER_DIR;
    const name = `${String(k).padStart(6, '0')}-${WORDS[k & 7]}.${EXTS[(k >> 3) & 7]}`;
    const size = Math.floor(Math.exp(r() * 14));
    const mtimeNs = EPOCH_NS + BigInt(Math.floor(r() * 3e16));
    const upload = r() < uploadRatio;
    const node: TreeNode = {
      name,
      type: 'f',
      mode: 0o644,
      uid: 1000,
      gid: 1000,
      size,
      atimeNs: mtimeNs + 1_000_000_123n,
      mtimeNs,
      ctimeNs: mtimeNs + 17n,
      birthtimeNs: mtimeNs - 5_000_000_000n,
      inode: BigInt(1_000_000 + i),
      device: 66306n,
      nlink: 1,
      ...(upload ? {} : { content: [idPool[i & 4095]!], hash: BigInt.asIntN(64, BigInt(Math.floor(r() * 2 ** 52)) * 4099n) }),
    };
    const event: ScanEvent = upload ? { t: 'f', node, path: `/srv/data/projects/${dir}/${name}` } : { t: 'f', node };
    dirItems.push({ event, pos: [dir, name] });
    // One array per directory, as the walker yields them (walkSourceInArrays).
    if (k === FILES_PER_DIR - 1 || i === files - 1) {
      yield dirItems;
      dirItems = [];
    }
  }
}

export interface ProduceOptions {
  readonly tenant: string;
  readonly repoId: string;
  readonly jobId: string;
  readonly files: number;
  readonly uploadRatio: number;
  readonly seed: number;
  /** Most publishes awaiting their PubAck at once. */
  readonly window: number;
}

export interface Produced {
  /** Wall clock (performance.timeOrigin + now, ms) of the first publish and of the last PubAck: comparable across threads. */
  readonly firstPublishAt: number;
  readonly lastAckAt: number;
  readonly batches: number;
  readonly records: number;
  /** Encoded scan events, summed over batches. */
  readonly eventBytes: number;
  /** CPU seconds of the thread that ran the producer, from first batch to last PubAck. */
  readonly threadCpuS: number;
}

export const wallClock = (): number => performance.timeOrigin + performance.now();

/**
 * The scanner's loop: batchEvents cuts the stream with DEFAULT_BATCH_LIMITS,
 * the runtime publisher (what ctx.publish is) encodes each batch as a
 * `work.upload` message with its msgID, and at most `window` PubAcks are
 * outstanding. Rejects if any publish fails or is taken for a duplicate.
 */
export async function produce(publisher: Publisher, o: ProduceOptions, onBatch?: (records: number) => void): Promise<Produced> {
  const subject = subjects.work(o.tenant, 'upload', o.jobId);
  let inFlight = 0;
  let wake: (() => void) | undefined;
  let failure: unknown;
  let batches = 0;
  let records = 0;
  let eventBytes = 0;
  let firstPublishAt = 0;
  const cpu0 = process.threadCpuUsage();
  const settled = (): void => {
    inFlight--;
    const w = wake;
    wake = undefined;
    w?.();
  };
  const items = scanItems(o.files, o.uploadRatio, o.seed);
  for await (const batch of batchEvents(items, { firstSeq: 0, startPos: [], limits: DEFAULT_BATCH_LIMITS })) {
    while (inFlight >= o.window) await new Promise<void>((res) => (wake = res));
    if (failure !== undefined) throw failure;
    if (batches === 0) firstPublishAt = wallClock();
    inFlight++;
    publisher
      .publish(subject, 'work.upload', {
        jobId: o.jobId, tenant: o.tenant, repoId: o.repoId, seq: batch.seq, startPos: [...batch.startPos], endPos: [...batch.endPos], events: batch.events,
      }, { msgID: `${o.jobId}-upload-${batch.seq}` })
      .then(
        (ack) => {
          if (ack.duplicate) failure ??= new Error(`batch ${batch.seq} of ${o.jobId} was taken for a duplicate`);
        },
        (err: unknown) => {
          failure ??= err;
        },
      )
      .finally(settled);
    batches++;
    records += batch.files;
    onBatch?.(records);
    eventBytes += batch.events.length;
  }
  while (inFlight > 0) await new Promise<void>((res) => (wake = res));
  const lastAckAt = wallClock();
  const cpu = process.threadCpuUsage(cpu0);
  if (failure !== undefined) throw failure;
  return { firstPublishAt, lastAckAt, batches, records, eventBytes, threadCpuS: (cpu.user + cpu.system) / 1e6 };
}
