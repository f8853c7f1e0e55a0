/**
 * Retention actor: a retention job forgets snapshots by the stored
 * policies (actors/retention-store.ts) of one source or of every source
 * that has one, then, unless told not to, prunes (actors/prune-run.ts).
 * Snapshots of sources without a policy are never touched. The job's
 * summary has what was removed and what the prune did; a prune that must
 * wait for running backups ends the job `success` with its marks waiting,
 * as the next retention run sweeps them.
 */
import type { ActorContext, ActorMessage } from './runtime/actor-context.ts';
import { subjects } from '../protocol/subjects.ts';
import { Buckets } from '../protocol/resources.ts';
import { checkRepo, type ActorDeps } from './deps.ts';
import { publishJobEvent } from './job-events.ts';
import { RetentionStore } from './retention-store.ts';
import { runPrune } from './prune-run.ts';
import { forgetByPolicy } from '../services/repo/retention.ts';

export function retentionHandler(deps: ActorDeps) {
  return async (ctx: ActorContext, msg: ActorMessage<'work.retention'>): Promise<void> => {
    const v = msg.value;
    checkRepo(deps, v.repoId);
    const policies = new Map((await new RetentionStore(await ctx.kv(Buckets.Retention)).list(v.tenant)).map((p) => [p.source, p.policy]));
    if (v.source !== undefined && !policies.has(v.source)) {
      await ctx.publish(subjects.job(v.tenant, 'failed'), 'job.failed', {
        jobId: v.jobId, tenant: v.tenant,
        error: { code: 'retention.no-policy', message: `source ${v.source} has no retention policy; set one with ferry retention set`, retryable: false, details: { source: v.source } },
      }, { msgID: `${v.jobId}-failed` });
      return;
    }
    await deps.repo.loadIndex();
    const forgot = await forgetByPolicy(deps.repo, (g) => policies.get(g.source), { filter: (s) => v.source === undefined || s.source === v.source });
    await publishJobEvent(ctx, v, 'step', { step: 'forget', removed: forgot.doomed.length, groups: forgot.groups.length }, 'retention');
    ctx.heartbeat();
    const pruned = v.prune
      ? await runPrune({
        repo: deps.repo, kv: (b) => ctx.kv(b), sealer: deps.workers, log: ctx.log, graceMs: v.graceMs, maxUnused: v.maxUnusedPermille / 1000, dryRun: false,
        selfJob: `${v.tenant}/${v.jobId}`,
      })
      : undefined;
    if (pruned) await publishJobEvent(ctx, v, 'step', { step: 'prune', deletedPacks: pruned.deletedPacks, freedBytes: pruned.freedBytes, markedPacks: pruned.markedPacks, waiting: pruned.waiting.length }, 'retention');
    await ctx.publish(subjects.job(v.tenant, 'finalized'), 'job.finalized', {
      jobId: v.jobId, tenant: v.tenant, status: 'success',
      summary: {
        removedSnapshots: forgot.doomed.length,
        ...(pruned ? { deletedPacks: pruned.deletedPacks, freedBytes: pruned.freedBytes, markedPacks: pruned.markedPacks, repackedPacks: pruned.repackedPacks, waitingMarks: pruned.waiting.length, waiting: pruned.waiting.map((w) => w.reason) } : {}),
      },
    }, { msgID: `${v.jobId}-finalized` });
  };
}
