/** Restorer actor: runs a restore job on the machine that runs this actor. */
import type { ActorContext, ActorMessage } from './runtime/actor-context.ts';
import { subjects } from '../protocol/subjects.ts';
import { FerryError } from '../protocol/errors.ts';
import { Restorer } from '../services/repo/restore.ts';
import { findNode, displayPath } from '../services/repo/tree-walk.ts';
import { NodeType } from '../services/repo/tree.ts';
import { requirePrivateKey } from '../services/crypto/tenant-keys.ts';
import { checkRepo, type ActorDeps } from './deps.ts';
import { publishJobEvent } from './job-events.ts';

export function restorerHandler(deps: ActorDeps) {
  return async (ctx: ActorContext, msg: ActorMessage<'work.restore'>): Promise<void> => {
    const v = msg.value;
    checkRepo(deps, v.repoId);
    const repo = deps.repo;
    requirePrivateKey(repo.keys, 'restore');
    await repo.loadIndex();
    const rec = await repo.resolveSnapshot(v.snapshot);
    const node = await findNode(repo, rec.snapshot.tree, v.path);
    if (!node) throw new FerryError('restore.no-such-path', `${displayPath(v.path)} is not in snapshot ${rec.id.slice(0, 12)}`);
    let last = 0;
    const restorer = new Restorer(repo, {
      contentOnly: v.contentOnly,
      log: ctx.log,
      placer: deps.workers,
      onProgress: (p) => {
        ctx.heartbeat();
        if (Date.now() - last > 500) {
          last = Date.now();
          void publishJobEvent(ctx, v, 'progress', { step: 'restore', files: p.files, bytes: p.bytes }, 'restorer').catch(() => {});
        }
      },
    });
    const r = node.type === NodeType.Dir && node.subtree ? await restorer.restoreTree(node.subtree, v.target) : await restorer.restoreOne(node, v.target);
    await ctx.publish(subjects.job(v.tenant, 'finalized'), 'job.finalized', {
      jobId: v.jobId, tenant: v.tenant, snapshotId: rec.id, status: r.errors > 0 ? 'warning' : 'success',
      summary: { files: r.files, dirs: r.dirs, bytes: r.bytes, errorCount: r.errors, errors: r.problems.map((p) => `${p.path}: ${p.message}`), target: v.target },
    }, { msgID: `${v.jobId}-finalized` });
  };
}
