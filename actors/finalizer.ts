/**
 * Finalizer actor: once the scan is done, waits until every batch's
 * fragment is recorded, replays the fragments in order to store the
 * directory trees, and writes the snapshot last. Fragments must join up
 * (each batch starts where the previous one ended); if they do not, the job
 * fails rather than write a wrong snapshot. A file a batch marks as sent
 * ahead takes its content from its own item's fragment (files-ahead.ts).
 *
 * It does not adopt orphan packs (the uploader does): trees a crashed
 * finalizer left unindexed are only stored again, a few blobs, while
 * listing every pack would cost each backup as much as a small walk.
 */
import type { ActorContext, ActorMessage } from './runtime/actor-context.ts';
import { Buckets } from '../protocol/resources.ts';
import { subjects } from '../protocol/subjects.ts';
import { FerryError } from '../protocol/errors.ts';
import { RepoWriter } from '../services/repo/repo-writer.ts';
import { TreeAssembler, decodeAssemblyEvents } from '../services/jobs/tree-assembler.ts';
import { writeSnapshot } from '../services/jobs/snapshot-writer.ts';
import { checkRepo, fileFragmentKey, fragmentKey, type ActorDeps } from './deps.ts';
import { decodeFragment, type Fragment } from './fragment.ts';
import { joinedEvent } from '../services/jobs/files-ahead.ts';
import { publishJobEvent } from './job-events.ts';
import { FragmentWaiter } from './fragment-waiter.ts';
import { JobStore } from './runtime/job-store.ts';
import { backupSpec } from './job-spec.ts';

const sameParts = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

export function finalizerHandler(deps: ActorDeps) {
  return async (ctx: ActorContext, msg: ActorMessage<'work.finalize'>): Promise<void> => {
    const v = msg.value;
    checkRepo(deps, v.repoId);
    const job = await new JobStore(await ctx.kv(Buckets.Jobs)).get(v.tenant, v.jobId);
    if (!job) throw new FerryError('job.not-found', `job ${v.jobId} has no record`);
    const spec = backupSpec(job.spec);
    const repo = deps.repo;
    await repo.loadIndex();
    const fragments = await ctx.kv(Buckets.Fragments);
    const writer = new RepoWriter(repo, deps.workers);
    const assembler = new TreeAssembler(repo, writer);
    const totals = { filesRead: 0, newBytes: 0, newBlobs: 0, storedBytes: 0 };
    let prevEnd: readonly string[] = [];
    const started = Date.now();
    const waiter = await FragmentWaiter.open(fragments, v.tenant, v.jobId);
    /** The fragment under `key`, once an uploader has recorded it. */
    const fragment = async (key: string): Promise<Fragment> => {
      let entry = await fragments.get(key);
      while (!entry?.value.length) {
        if (ctx.signal.aborted) throw new Error('finalize interrupted by shutdown');
        ctx.heartbeat();
        await waiter.arrived(key, 1000);
        entry = await fragments.get(key);
      }
      waiter.forget(key);
      const f = decodeFragment(entry.value, key);
      totals.filesRead += f.filesRead;
      totals.newBytes += f.newBytes;
      totals.newBlobs += f.newBlobs;
      totals.storedBytes += f.storedBytes;
      return f;
    };
    /** A file sent ahead of its batch: its content is in the fragment of its own item. */
    const fileItem = async (key: string) => {
      const what = fileFragmentKey(v.tenant, v.jobId, key);
      return { events: (await fragment(what)).events, what };
    };
    try {
      for (let seq = 0; seq < v.batches; seq++) {
        const key = fragmentKey(v.tenant, v.jobId, seq);
        const f = await fragment(key);
        if (!sameParts(f.startPos, prevEnd)) {
          throw new FerryError('jobs.inconsistent-scan', `batch ${seq} does not start where batch ${seq - 1} ended; the source changed while the scan resumed; run the backup again`);
        }
        prevEnd = f.endPos;
        for (const e of decodeAssemblyEvents(f.events, key)) await assembler.push(await joinedEvent(e, fileItem));
        if (seq % 50 === 0) await publishJobEvent(ctx, v, 'progress', {
          step: 'finalize', batch: seq, of: v.batches,
          etaSec: Math.round(((Date.now() - started) / 1000 / (seq + 1)) * (v.batches - seq - 1)),
        }, 'finalizer');
      }
    } finally {
      waiter.close();
    }
    const { id, snapshot } = await writeSnapshot(repo, writer, assembler, {
      startedMs: job.createdAt, host: spec.host, source: spec.source, paths: spec.paths, tags: spec.tags, parentId: spec.parent,
      filesRead: totals.filesRead, newBytes: totals.newBytes, newBlobs: totals.newBlobs, storedBytes: totals.storedBytes,
    });
    const s = snapshot.summary;
    await ctx.publish(subjects.job(v.tenant, 'finalized'), 'job.finalized', {
      jobId: v.jobId, tenant: v.tenant, snapshotId: id, status: snapshot.status === 'ok' ? 'success' : 'warning',
      summary: { ...s, errorCount: snapshot.errorCount, errors: snapshot.errors.slice(0, 20).map((e) => `${e.path}: ${e.message}`) },
    }, { msgID: `${v.jobId}-finalized` });
  };
}
