/**
 * Coordinator actor: the control plane. It keeps job records in KV, moves
 * jobs through queued -> running -> success | warning | failed, and hands
 * each step to the actor that does it. It never touches backup bytes and
 * needs no repository key. Every replica may handle job messages (records
 * are updated with revision checks); only the lease holder runs schedules
 * (scheduler.ts).
 */
import type { ActorContext, ActorMessage } from './runtime/actor-context.ts';
import { Buckets } from '../protocol/resources.ts';
import { subjects } from '../protocol/subjects.ts';
import { FerryError } from '../protocol/errors.ts';
import { JobStore } from './runtime/job-store.ts';
import { backupSpec, restoreSpec, retentionSpec, siteSpec, syncSpec, verifySpec } from './job-spec.ts';
import { publishJobEvent } from './job-events.ts';

type CoordinatorKind = 'job.submit' | 'job.scan-done' | 'job.finalized' | 'job.failed' | 'job.cancel';
export const COORDINATOR_ACCEPTS: readonly CoordinatorKind[] = ['job.submit', 'job.scan-done', 'job.finalized', 'job.failed', 'job.cancel'];

const TERMINAL = new Set(['success', 'warning', 'failed']);

export function coordinatorHandler() {
  return async (ctx: ActorContext, msg: ActorMessage<CoordinatorKind>): Promise<void> => {
    const jobs = new JobStore(await ctx.kv(Buckets.Jobs));
    const v = msg.value;
    const state = async (s: string, data: Record<string, unknown> = {}) => publishJobEvent(ctx, v, 'state', { state: s, ...data }, 'coordinator');
    const current = await jobs.get(v.tenant, v.jobId);
    if (msg.kind !== 'job.submit' && !current) throw new FerryError('job.not-found', `no record of job ${v.jobId}`);
    if (current && TERMINAL.has(current.state)) return; // late or repeated messages for a finished job

    switch (msg.kind) {
      case 'job.submit': {
        const s = msg.value;
        if (!current) {
          await jobs.create({ jobId: s.jobId, tenant: s.tenant, type: s.type, state: 'queued', createdAt: s.requestedAt, updatedAt: Date.now(), repoId: s.repoId, spec: s.spec, stats: {} });
          await state('queued', { type: s.type });
        } else if (current.state !== 'queued') return;
        const base = { jobId: s.jobId, tenant: s.tenant, repoId: s.repoId };
        if (s.type === 'backup' || s.type === 'scan') {
          const b = backupSpec(s.spec);
          await ctx.publish(subjects.work(s.tenant, 'scan', s.jobId), 'work.scan', {
            ...base, source: b.source, host: b.host, paths: b.select ?? b.paths, tags: b.tags, dryRun: s.type === 'scan', ...(b.parent ? { parentSnapshot: b.parent } : {}),
          }, { msgID: `${s.jobId}-scan` });
        } else if (s.type === 'restore') {
          const r = restoreSpec(s.spec);
          await ctx.publish(subjects.work(s.tenant, 'restore', s.jobId), 'work.restore', { ...base, ...r }, { msgID: `${s.jobId}-restore` });
        } else if (s.type === 'sync') {
          await ctx.publish(subjects.work(s.tenant, 'sync', s.jobId), 'work.sync', { ...base, ...syncSpec(s.spec) }, { msgID: `${s.jobId}-sync` });
        } else if (s.type === 'retention') {
          await ctx.publish(subjects.work(s.tenant, 'retention', s.jobId), 'work.retention', { ...base, ...retentionSpec(s.spec) }, { msgID: `${s.jobId}-retention` });
        } else if (s.type === 'site') {
          await ctx.publish(subjects.work(s.tenant, 'site', s.jobId), 'work.site', { ...base, ...siteSpec(s.spec) }, { msgID: `${s.jobId}-site` });
        } else {
          await ctx.publish(subjects.work(s.tenant, 'verify', s.jobId), 'work.verify', { ...base, ...verifySpec(s.spec) }, { msgID: `${s.jobId}-verify` });
        }
        await jobs.update(s.tenant, s.jobId, (r) => ({ ...r, state: 'running' }));
        await state('running');
        return;
      }
      case 'job.scan-done': {
        const d = msg.value;
        const rec = await jobs.update(d.tenant, d.jobId, (r) => ({ ...r, batches: d.batches, stats: { ...r.stats, files: d.files, bytes: d.bytes, scanErrors: d.errors } }));
        if (rec.type === 'scan') {
          const final = d.errors > 0 ? 'warning' : 'success';
          await jobs.update(d.tenant, d.jobId, (r) => ({ ...r, state: final }));
          await state(final, { summary: rec.stats });
          return;
        }
        await ctx.publish(subjects.work(d.tenant, 'finalize', d.jobId), 'work.finalize', { jobId: d.jobId, tenant: d.tenant, repoId: rec.repoId, batches: d.batches }, { msgID: `${d.jobId}-finalize` });
        return;
      }
      case 'job.finalized': {
        const f = msg.value;
        const numbers = Object.fromEntries(Object.entries(f.summary).filter(([, x]) => typeof x === 'number')) as Record<string, number>;
        await jobs.update(f.tenant, f.jobId, (r) => ({ ...r, state: f.status, ...(f.snapshotId ? { snapshotId: f.snapshotId } : {}), stats: { ...r.stats, ...numbers } }));
        await state(f.status, { snapshotId: f.snapshotId, summary: f.summary });
        return;
      }
      case 'job.failed': {
        const f = msg.value;
        await jobs.update(f.tenant, f.jobId, (r) => ({ ...r, state: 'failed', error: f.error }));
        await state('failed', { error: f.error });
        return;
      }
      case 'job.cancel': {
        await jobs.update(v.tenant, v.jobId, (r) => ({ ...r, state: 'failed', error: { code: 'job.cancelled', message: 'cancelled', retryable: false, details: {} } }));
        await state('failed', { error: { code: 'job.cancelled', message: 'cancelled' } });
        return;
      }
    }
  };
}
