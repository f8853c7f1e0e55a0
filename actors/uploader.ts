/**
 * Uploader actor: turns one batch of file records, or one file sent ahead
 * of its batch (services/jobs/files-ahead.ts), into stored content. Any
 * number of replicas share the `uploader` durable, so they split a job's
 * batches and files. An item's result (a fragment) is recorded in KV only
 * after its blobs are in stored, indexed packs; then the message is acked.
 * An item redelivered after a crash finds its blobs indexed (or adopts the
 * orphan packs) and stores nothing twice.
 *
 * File items share the lanes with batches, so a job's first large files
 * can hold every lane while its batches wait; with more cores a durable of
 * their own may pay (not measured). They do not take a reading slot: a
 * file's segments follow one another, so an item has one content task in
 * flight at a time, and with the four large files of the benchmark corpus
 * holding both slots its first second ran 1.1 tasks on average instead of
 * the engine's three (a trace of the addon's tasks; 2.2 without). First
 * backups, interleaved pairs: median ratios 0.985 and 0.98 (8 pairs each).
 *
 * Orphan packs are adopted before the first blob is stored, not at
 * start-up: adopting lists every pack in the repository, which a backup
 * with nothing new to store should not pay for. The first batch reads and
 * chunks its files meanwhile: while a scanner walks, that listing shares
 * the event loop with the walk and took ~0.3 s of a 1.7 s backup.
 *
 * Batches read at once: READING_BATCHES, fewer than the actor's lanes
 * (actors/process.ts gives it 4). A lane that has read its batch spends
 * tens of milliseconds making it durable (closing the open pack, fsync,
 * an index file) and recording its fragment; with two lanes, both reading,
 * the two finished together and the thread pool stood idle while both
 * flushed: 0.7 s of a 3.8 s first backup with no content task running, in
 * gaps of 15-130 ms at every pair of batches. With spare lanes, a third
 * batch is read meanwhile: 0.2 s without a task running. First backups of
 * the mixed corpus gained less than that (medians of two sets of 6
 * interleaved pairs: 4.14 to 3.99 s, 4.13 to 4.07 s) because the two cores
 * were already busy with other threads then. Reading more batches at once
 * buys nothing (the content engine runs one task more than the cores) and
 * holds more leases, so more sealed bytes, in memory.
 */
import type { ActorContext, ActorMessage } from './runtime/actor-context.ts';
import { Buckets } from '../protocol/resources.ts';
import { RepoWriter } from '../services/repo/repo-writer.ts';
import { adoptOrphanPacks } from '../services/repo/orphans.ts';
import { BatchUploader, fileNodeBytes } from '../services/jobs/upload-batch.ts';
import { decodeEventsWith, encodeEventsWith, nodeBytes, type ScanEventOf } from '../services/jobs/scan-events.ts';
import type { NodeBytes } from '../services/repo/node-bytes.ts';
import type { WorkUpload, WorkUploadFile } from '../protocol/messages.ts';
import { checkRepo, fileFragmentKey, fragmentKey, type ActorDeps } from './deps.ts';
import { aheadFile } from '../services/jobs/files-ahead.ts';
import { encodeFragment } from './fragment.ts';
import { publishJobEvent } from './job-events.ts';
import { PruneGeneration } from './prune-generation.ts';
import { Semaphore } from '../services/storage/semaphore.ts';

const READING_BATCHES = 2;

export async function uploaderHandler(deps: ActorDeps) {
  await deps.repo.loadIndex();
  let adoption: Promise<void> | undefined;
  const adoptOnce = (): Promise<void> =>
    (adoption ??= adoptOrphanPacks(deps.repo).then(
      (r) => {
        if (r.adopted > 0) deps.logger.info({ packs: r.adopted }, 'indexed packs left by an interrupted writer');
      },
      (err: unknown) => {
        adoption = undefined; // the next batch tries again
        throw err;
      },
    ));
  const writer = new RepoWriter(deps.repo, deps.workers);
  const pruneGeneration = new PruneGeneration(deps.repo.config.id);
  const reading = new Semaphore(READING_BATCHES);
  // Stored bytes are per process; each fragment claims what was stored since the last one, so the sum is exact.
  let storedReported = 0;

  return async (ctx: ActorContext, msg: ActorMessage<'work.upload' | 'work.upload-file'>): Promise<void> => {
    const v = msg.value;
    checkRepo(deps, v.repoId);
    // A batch, or one file sent ahead of its batch: the same work, recorded under the item's own key.
    // Nodes stay bytes: the uploader appends content to them and looks at nothing else inside.
    const item = msg.kind === 'work.upload' ? batchItem(msg.value) : fileItem(msg.value);
    const fragments = await ctx.kv(Buckets.Fragments);
    if (await fragments.get(item.key)) return; // done before a crash lost the ack
    // A prune marked or swept packs since the index was loaded: see its marks before relying on the index.
    const pruned = await pruneGeneration.changed(await ctx.kv(Buckets.Leases));
    if (msg.redelivered || pruned) await deps.repo.loadIndex();
    const started = Date.now();
    const uploader = new BatchUploader(deps.repo, writer, deps.workers, { beforeStore: adoptOnce, nodes: fileNodeBytes });
    // A batch with nothing to read (an unchanged part of the tree) goes on as it came.
    const events = item.events();
    const untouched = !events.some((e) => e.t === 'f' && e.path !== undefined && e.ahead !== true);
    const work = () => uploader.process(events, () => ctx.heartbeat());
    const done = item.takesReadingSlot ? await reading.run(work) : await work();
    await writer.flush();
    const storedBytes = writer.stats.storedBytes - storedReported;
    storedReported = writer.stats.storedBytes;
    const fragment = encodeFragment({
      startPos: item.startPos, endPos: item.endPos, events: untouched ? v.events : encodeEventsWith(done.events, nodeBytes),
      filesRead: uploader.reader.filesRead, newBytes: uploader.added.bytes, newBlobs: uploader.added.blobs, storedBytes, errors: done.errors,
    });
    try {
      await fragments.create(item.key, fragment);
    } catch (err) {
      // Another replica finished the same item first (a redelivery race): its fragment stands.
      if (!/wrong last sequence|exists/i.test(String((err as Error).message))) throw err;
    }
    await publishJobEvent(ctx, v, 'progress', {
      step: 'upload', ...item.progress, filesRead: uploader.reader.filesRead, bytesRead: uploader.reader.bytesRead, newBytes: uploader.added.bytes,
      bytesPerSec: Math.round(uploader.reader.bytesRead / Math.max(0.001, (Date.now() - started) / 1000)),
    }, 'uploader');
  };
}

/** An upload work item: where its fragment goes, and the events to fill in. */
interface UploadItem {
  readonly key: string;
  /** Decoded only once the item turns out not to be done already (a batch's key needs no decoding). */
  readonly events: () => ScanEventOf<NodeBytes>[];
  readonly startPos: string[];
  readonly endPos: string[];
  /** What the item's progress event says it was. */
  readonly progress: { seq: number } | { file: true };
  /** A batch reads with READING_BATCHES; a file sent ahead runs one content task at a time and reads at once (see above). */
  readonly takesReadingSlot: boolean;
}

function batchItem(v: WorkUpload): UploadItem {
  return {
    key: fragmentKey(v.tenant, v.jobId, v.seq), events: () => decodeEventsWith(v.events, `batch ${v.seq} of job ${v.jobId}`, nodeBytes),
    startPos: v.startPos, endPos: v.endPos, progress: { seq: v.seq }, takesReadingSlot: true,
  };
}

function fileItem(v: WorkUploadFile): UploadItem {
  const { event, key } = aheadFile(v.events, `a file item of job ${v.jobId}`);
  return { key: fileFragmentKey(v.tenant, v.jobId, key), events: () => [event], startPos: [], endPos: [], progress: { file: true }, takesReadingSlot: false };
}
