/**
 * Scanner actor: walks a source for a backup (or a dry-run scan) job and
 * publishes its file records in batches on `ferry.work.<tenant>.upload.<job>`,
 * one message per batch. After every published batch it checkpoints the walk
 * position (with a revision check), so a redelivered scan task resumes after
 * the last published batch instead of starting over. Each batch goes out
 * with a message ID, so a batch re-sent after a crash is dropped by the
 * stream's duplicate window.
 *
 * Large files to read are also sent ahead, each as its own
 * `work.upload-file` item, when the walk lists their directory
 * (services/jobs/files-ahead.ts); a batch goes out only after the items the
 * walk sent before it.
 */
import type { ActorContext, ActorMessage } from './runtime/actor-context.ts';
import { Buckets } from '../protocol/resources.ts';
import { subjects } from '../protocol/subjects.ts';
import { CheckpointStore } from './runtime/checkpoints.ts';
import { buildSelection } from '../services/repo/selection.ts';
import { walkSourceInArrays } from '../services/jobs/scan-walker.ts';
import { batchEvents } from '../services/jobs/batcher.ts';
import { AHEAD_BYTES, aheadItem, type SendAhead } from '../services/jobs/files-ahead.ts';
import { checkRepo, checkpointKey, type ActorDeps } from './deps.ts';
import { publishJobEvent } from './job-events.ts';

interface ScanCheckpoint {
  nextSeq: number;
  pos: string[];
  files: number;
  bytes: number;
  uploadFiles: number;
  errors: number;
}

export function scannerHandler(deps: ActorDeps) {
  return async (ctx: ActorContext, msg: ActorMessage<'work.scan'>): Promise<void> => {
    const v = msg.value;
    checkRepo(deps, v.repoId);
    const repo = deps.repo;
    await repo.loadIndex();
    const checkpoints = new CheckpointStore(await ctx.kv(Buckets.Checkpoints));
    const key = checkpointKey(v.tenant, v.jobId, 'scan');
    const saved = await checkpoints.load<ScanCheckpoint>(key);
    let revision = saved?.revision;
    const cp: ScanCheckpoint = saved?.value ?? { nextSeq: 0, pos: [], files: 0, bytes: 0, uploadFiles: 0, errors: 0 };
    if (saved) ctx.log.info({ nextSeq: cp.nextSeq }, 'resuming scan after batch %d', cp.nextSeq - 1);
    // Scheduled jobs name no parent: compare with the newest snapshot of the same source and paths.
    const parent = v.parentSnapshot
      ? await repo.loadSnapshotById(v.parentSnapshot)
      : (await repo.parentFor(v.source, v.paths))?.snapshot;
    const uploads = subjects.work(v.tenant, 'upload', v.jobId);
    // Files sent ahead go out as the walk lists them; each batch waits until those before it are in the stream.
    const sent: Promise<unknown>[] = [];
    const sendAhead: SendAhead = {
      minBytes: AHEAD_BYTES,
      send: (path, node) => {
        const { key, events } = aheadItem(path, node);
        const p = ctx.publish(uploads, 'work.upload-file', { jobId: v.jobId, tenant: v.tenant, repoId: v.repoId, events }, { msgID: `${v.jobId}-file-${key}` });
        p.catch(() => {}); // awaited before the next batch goes out
        sent.push(p);
      },
    };
    const walk = walkSourceInArrays({
      repo,
      selection: buildSelection(v.paths),
      parentTree: parent?.tree,
      after: saved ? cp.pos : undefined,
      onParentError: (err) => ctx.log.warn({ err: (err as Error).message }, 'parent tree unreadable; reading files again'),
      sendAhead: v.dryRun ? undefined : sendAhead,
    });
    let lastEvent = Date.now();
    const started = Date.now();
    const filesAtStart = cp.files;
    for await (const batch of batchEvents(walk, { firstSeq: cp.nextSeq, startPos: cp.pos })) {
      ctx.heartbeat();
      if (ctx.signal.aborted) throw new Error('scan interrupted by shutdown; it resumes from its checkpoint');
      if (!v.dryRun) {
        await Promise.all(sent.splice(0));
        await ctx.publish(uploads, 'work.upload', {
          jobId: v.jobId, tenant: v.tenant, repoId: v.repoId, seq: batch.seq, startPos: [...batch.startPos], endPos: [...batch.endPos], events: batch.events,
        }, { msgID: `${v.jobId}-upload-${batch.seq}` });
      }
      cp.nextSeq = batch.seq + 1;
      cp.pos = [...batch.endPos];
      cp.files += batch.files;
      cp.bytes += batch.bytes;
      cp.uploadFiles += batch.uploadFiles;
      cp.errors += batch.errors;
      revision = await checkpoints.save(key, cp, revision);
      if (Date.now() - lastEvent > 500) {
        lastEvent = Date.now();
        await publishJobEvent(ctx, v, 'progress', {
          step: 'scan', batches: cp.nextSeq, files: cp.files, bytes: cp.bytes, toUpload: cp.uploadFiles,
          filesPerSec: Math.round((cp.files - filesAtStart) / Math.max(0.001, (Date.now() - started) / 1000)),
        }, 'scanner');
      }
    }
    await Promise.all(sent.splice(0)); // none are left after the last batch, but a send must never go unawaited
    await publishJobEvent(ctx, v, 'step', { step: 'scan', done: true, batches: cp.nextSeq, files: cp.files, bytes: cp.bytes, toUpload: cp.uploadFiles, errors: cp.errors }, 'scanner');
    await ctx.publish(subjects.job(v.tenant, 'scan-done'), 'job.scan-done', {
      jobId: v.jobId, tenant: v.tenant, batches: cp.nextSeq, files: cp.files, bytes: cp.bytes, errors: cp.errors,
    }, { msgID: `${v.jobId}-scan-done` });
  };
}
