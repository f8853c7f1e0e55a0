/** Runs one job through the actors from a CLI command and turns a failure into an error. */
import { FerryError } from '../protocol/errors.ts';
import type { JobType } from '../protocol/messages.ts';
import type { ActorKind } from '../actors/process.ts';
import type { Session } from './session.ts';
import { openRuntime } from './runtime.ts';
import { runJob, type JobOutcome } from './job-client.ts';

const NEEDS: Record<JobType, readonly ActorKind[]> = {
  backup: ['coordinator', 'scanner', 'uploader', 'finalizer'],
  scan: ['coordinator', 'scanner'],
  restore: ['coordinator', 'restorer'],
  verify: ['coordinator', 'verifier'],
};

export async function runJobFromCli(s: Session, type: JobType, spec: Record<string, unknown>): Promise<JobOutcome> {
  // Deriving the key (scrypt, a few hundred ms) and loading the index overlap starting NATS.
  // The actors load the index themselves and report its errors; this early pass only warms it.
  const warm = s.repo().then((repo) => repo.loadIndex());
  warm.catch(() => {});
  const [repoR, rtR] = await Promise.allSettled([s.repo(), openRuntime(s, { needs: NEEDS[type] })]);
  if (repoR.status === 'rejected' || rtR.status === 'rejected') {
    if (rtR.status === 'fulfilled') await rtR.value.close();
    throw repoR.status === 'rejected' ? repoR.reason : (rtR as PromiseRejectedResult).reason;
  }
  const repo = repoR.value;
  const rt = rtR.value;
  try {
    const out = await runJob(rt, { tenant: s.cfg.tenant, type, repoId: repo.config.id, spec }, s.progress());
    if (out.record.state === 'failed' && type !== 'verify') {
      const e = out.record.error;
      throw new FerryError(e?.code ?? 'job.failed', `${type} job ${out.record.jobId} failed: ${e?.message ?? 'unknown error'}`);
    }
    return out;
  } finally {
    await rt.close();
  }
}
