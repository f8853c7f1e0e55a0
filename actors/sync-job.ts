/**
 * Sync actor: a sync job copies the repository to a second one
 * (services/repo/sync.ts) and records the copy's state (sync-state.ts):
 * last attempt, last success, lag and the error of a failed run. Each run
 * is also a `step` event `{step: "sync", to, ok, lagSeconds, copied,
 * message?}`.
 */
import type { ActorContext, ActorMessage } from './runtime/actor-context.ts';
import { subjects } from '../protocol/subjects.ts';
import { Buckets } from '../protocol/resources.ts';
import { FerryError } from '../protocol/errors.ts';
import { checkRepo, type ActorDeps } from './deps.ts';
import { publishJobEvent } from './job-events.ts';
import { recordSyncRun, SyncStateStore } from './sync-state.ts';
import { syncRepository } from '../services/repo/sync.ts';

export function syncHandler(deps: ActorDeps) {
  return async (ctx: ActorContext, msg: ActorMessage<'work.sync'>): Promise<void> => {
    const v = msg.value;
    checkRepo(deps, v.repoId);
    if (!deps.openStorage) throw new FerryError('sync.no-storage', 'this process cannot open a sync destination');
    const states = new SyncStateStore(await ctx.kv(Buckets.Sync));
    const destination = await deps.openStorage(v.to);
    const startedAt = Date.now();
    try {
      let copied = 0;
      let failure: unknown;
      try {
        const result = await syncRepository(deps.repo.storage, destination, { onProgress: () => ctx.heartbeat() });
        copied = result.total.copied;
      } catch (err) {
        failure = err;
      }
      const state = await recordSyncRun(states, { tenant: v.tenant, repo: deps.repo, destination, to: v.to, startedAt, copied, failure });
      const { lagSeconds, error } = state;
      await publishJobEvent(ctx, v, 'step', { step: 'sync', to: v.to, ok: failure === undefined, lagSeconds, copied, ...(error ? { message: error.message } : {}) }, 'sync');
      if (failure !== undefined) {
        await ctx.publish(subjects.job(v.tenant, 'failed'), 'job.failed', {
          jobId: v.jobId, tenant: v.tenant, error: { code: error!.code, message: `sync to ${v.to} failed: ${error!.message}`, retryable: false, details: { to: v.to } },
        }, { msgID: `${v.jobId}-failed` });
        return;
      }
      await ctx.publish(subjects.job(v.tenant, 'finalized'), 'job.finalized', {
        jobId: v.jobId, tenant: v.tenant, status: 'success', summary: { to: v.to, copied, lagSeconds },
      }, { msgID: `${v.jobId}-finalized` });
    } finally {
      await destination.close();
    }
  };
}
