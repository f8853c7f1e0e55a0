/** Verifier actor: runs `check` (optionally reading all data) as a job. */
import type { ActorContext, ActorMessage } from './runtime/actor-context.ts';
import { subjects } from '../protocol/subjects.ts';
import { checkRepository } from '../services/repo/check.ts';
import { checkRepo, type ActorDeps } from './deps.ts';
import { publishJobEvent } from './job-events.ts';

export function verifierHandler(deps: ActorDeps) {
  return async (ctx: ActorContext, msg: ActorMessage<'work.verify'>): Promise<void> => {
    const v = msg.value;
    checkRepo(deps, v.repoId);
    let last = 0;
    const report = await checkRepository(deps.repo, {
      readData: v.readData,
      onProgress: (r) => {
        ctx.heartbeat();
        if (Date.now() - last > 500) {
          last = Date.now();
          void publishJobEvent(ctx, v, 'progress', { step: 'verify', packs: r.packs, bytes: r.bytesRead }, 'verifier').catch(() => {});
        }
      },
    });
    await ctx.publish(subjects.job(v.tenant, 'finalized'), 'job.finalized', {
      jobId: v.jobId, tenant: v.tenant, status: report.problems.length === 0 ? 'success' : 'failed',
      summary: {
        snapshots: report.snapshots, packs: deps.repo.index.packCount, blobs: deps.repo.index.blobCount, packsRead: report.packs, bytesRead: report.bytesRead,
        problems: report.problems.map((p) => p.message), notes: report.notes,
      },
    }, { msgID: `${v.jobId}-finalized` });
  };
}
