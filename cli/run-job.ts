/** Runs one job through the actors from a CLI command and turns a failure into an error. */
import { FerryError } from '../protocol/errors.ts';
import type { JobType } from '../protocol/messages.ts';
import type { ActorKind } from '../actors/process.ts';
import type { Session } from './session.ts';
import type { Repository } from '../services/repo/repository.ts';
import { openRuntime } from './runtime.ts';
import { runJob, type JobOutcome } from './job-client.ts';

const NEEDS: Record<JobType, readonly ActorKind[]> = {
  backup: ['coordinator', 'scanner', 'uploader', 'finalizer'],
  scan: ['coordinator', 'scanner'],
  restore: ['coordinator', 'restorer'],
  verify: ['coordinator', 'verifier'],
  retention: ['coordinator', 'retention'],
  sync: ['coordinator', 'sync'],
  // A site backup snapshots its staging through the usual backup actors.
  site: ['coordinator', 'site', 'scanner', 'uploader', 'finalizer'],
};

/** A job's spec, or how to work it out once the repository is open (a parent snapshot, a path check). */
export type JobSpecSource = Record<string, unknown> | ((repo: Repository) => Promise<Record<string, unknown>>);

/** `needs`: the actors this job uses, when not the type's usual set (a site preflight needs no scanner). */
export async function runJobFromCli(s: Session, type: JobType, spec: JobSpecSource, needs: readonly ActorKind[] = NEEDS[type]): Promise<JobOutcome> {
  // Opening the repository (scrypt, a few hundred ms), loading its index and working out
  // the spec overlap starting NATS and the actors. The actors load the index themselves and
  // report its errors; the early pass only warms it.
  s.requireRepoLocation(); // a missing repository is a usage error, reported before NATS starts
  // No repository at that location (or its config unreadable) shows before key derivation: say so without starting NATS.
  if (!(await s.unlockStarted())) await s.repo();
  const prepared = s.repo().then(async (repo) => {
    repo.loadIndex().catch(() => {});
    return { repo, spec: typeof spec === 'function' ? await spec(repo) : spec };
  });
  const [prepR, rtR] = await Promise.allSettled([prepared, openRuntime(s, { needs })]);
  if (prepR.status === 'rejected' || rtR.status === 'rejected') {
    if (rtR.status === 'fulfilled') await rtR.value.close();
    throw prepR.status === 'rejected' ? prepR.reason : (rtR as PromiseRejectedResult).reason;
  }
  const { repo } = prepR.value;
  const rt = rtR.value;
  try {
    const out = await runJob(rt, { tenant: s.cfg.tenant, type, repoId: repo.config.id, spec: prepR.value.spec }, s.progress());
    if (out.record.state === 'failed' && type !== 'verify') {
      const e = out.record.error;
      throw new FerryError(e?.code ?? 'job.failed', `${type} job ${out.record.jobId} failed: ${e?.message ?? 'unknown error'}`);
    }
    return out;
  } finally {
    await rt.close();
  }
}
