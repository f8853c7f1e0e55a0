/**
 * A site's backup job, run by the site actor while it holds the site's
 * lease: pull every target into the site's staging directory, then back
 * that directory up as a job of its own (scanner, uploader, finalizer, like
 * any backup) and wait for it. Snapshots of a site have the site's name as
 * host and `site-<name>` as source, so each is the parent of the next.
 *
 * The site job ends `success` when every target pulled cleanly, `warning`
 * when some failed or pulled partly (their step events name them, and the
 * snapshot holds the others), and `failed` when the snapshot could not be
 * made or no target pulled at all.
 */
import { join } from 'node:path';
import type { ActorContext } from './runtime/actor-context.ts';
import { JobStore, type JobRecord } from './runtime/job-store.ts';
import { publishJobEvent } from './job-events.ts';
import { Buckets } from '../protocol/resources.ts';
import { subjects } from '../protocol/subjects.ts';
import type { WorkSite } from '../protocol/messages.ts';
import type { Repository } from '../services/repo/repository.ts';
import type { SiteStore } from '../services/sites/site-store.ts';
import type { SiteRecord } from '../services/sites/site-record.ts';
import { pullTargets, type RevealUrl } from '../services/sites/pull-targets.ts';
import type { StepPolicy } from '../services/sites/step-runner.ts';
import type { SshTarget } from '../services/sources/ssh-session.ts';

const TERMINAL = new Set(['success', 'warning', 'failed']);

async function waitForJob(ctx: ActorContext, tenant: string, jobId: string): Promise<JobRecord> {
  const jobs = new JobStore(await ctx.kv(Buckets.Jobs));
  for (;;) {
    ctx.signal.throwIfAborted();
    const rec = await jobs.get(tenant, jobId);
    if (rec && TERMINAL.has(rec.state)) return rec;
    ctx.heartbeat();
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface SiteBackupInput {
  readonly ctx: ActorContext;
  readonly job: WorkSite;
  readonly store: SiteStore;
  readonly site: SiteRecord;
  /** The site's SSH login, opened; none for a site without one. */
  readonly ssh: SshTarget | undefined;
  /** Opens a target's sealed URL. */
  readonly revealUrl: RevealUrl;
  readonly policy: StepPolicy;
  readonly stagingRoot: string;
  /** For the parent snapshot; without it every backup reads all staged files. */
  readonly repo?: Repository | undefined;
}

export async function runSiteBackup(p: SiteBackupInput): Promise<void> {
  const { ctx, job: v, site } = p;
  const staging = join(p.stagingRoot, site.uuid);
  const results = await pullTargets(p.ssh, site.targets, staging, {
    signal: ctx.signal,
    revealUrl: p.revealUrl,
    policy: p.policy,
    onRetry: (t, attempt, err, delayMs) => {
      ctx.heartbeat();
      void publishJobEvent(ctx, v, 'step', { step: 'pull', site: site.name, target: t.hash, ok: false, retry: attempt, inMs: delayMs, message: err.message }, 'site').catch(() => {});
    },
    onResult: (r) => publishJobEvent(ctx, v, 'step', { step: 'pull', site: site.name, target: r.hash, kind: r.kind, location: r.location, ok: r.ok, partial: r.partial, ...(r.message ? { message: r.message } : {}) }, 'site'),
  });
  const failed = results.filter((r) => !r.ok);
  const partial = results.filter((r) => r.ok && r.partial);
  const record = async (state: 'ok' | 'warning' | 'failed', message: string | undefined) =>
    p.store.update(v.tenant, site.uuid, (s) => ({ ...s, health: state, lastBackup: { at: Date.now(), state, message } }));
  const failedText = failed.map((r) => `${r.kind} ${r.location}: ${r.message}`).join('; ');
  if (results.length === 0 || failed.length === results.length) {
    const message = results.length === 0 ? `site ${site.name} has no targets` : `no target of ${site.name} could be pulled: ${failedText}`;
    await record('failed', message);
    await ctx.publish(subjects.job(v.tenant, 'failed'), 'job.failed', { jobId: v.jobId, tenant: v.tenant, error: { code: 'site.pull-failed', message, retryable: false, details: { site: site.name } } }, { msgID: `${v.jobId}-failed` });
    return;
  }

  const source = `site-${site.name}`;
  const parent = await p.repo?.parentFor(source, [staging]);
  const backupId = `${v.jobId}-backup`;
  await ctx.publish(subjects.job(v.tenant, 'submit'), 'job.submit', {
    jobId: backupId, tenant: v.tenant, type: 'backup', repoId: v.repoId, requestedAt: Date.now(),
    spec: { paths: [staging], host: site.name, source, tags: [`site:${site.name}`], ...(parent ? { parent: parent.id } : {}) },
  }, { msgID: `${backupId}-submit` });
  await publishJobEvent(ctx, v, 'step', { step: 'snapshot', site: site.name, job: backupId }, 'site');
  const inner = await waitForJob(ctx, v.tenant, backupId);
  if (inner.state === 'failed') {
    const message = `the snapshot of ${site.name}'s staging failed: ${inner.error?.message ?? 'unknown error'}`;
    await record('failed', message);
    await ctx.publish(subjects.job(v.tenant, 'failed'), 'job.failed', { jobId: v.jobId, tenant: v.tenant, error: { code: inner.error?.code ?? 'site.snapshot-failed', message, retryable: false, details: { site: site.name } } }, { msgID: `${v.jobId}-failed` });
    return;
  }
  const warn = failed.length > 0 || partial.length > 0 || inner.state === 'warning';
  const message = warn ? [failedText, ...partial.map((r) => `${r.kind} ${r.location} pulled partly: ${r.message}`), inner.state === 'warning' ? 'the snapshot has warnings' : ''].filter(Boolean).join('; ') : undefined;
  await record(warn ? 'warning' : 'ok', message);
  await ctx.publish(subjects.job(v.tenant, 'finalized'), 'job.finalized', {
    jobId: v.jobId, tenant: v.tenant, status: warn ? 'warning' : 'success',
    ...(inner.snapshotId ? { snapshotId: inner.snapshotId } : {}),
    summary: { site: site.name, targets: results.length, failedTargets: failed.map((r) => r.hash), partialTargets: partial.map((r) => r.hash), ...(message ? { message } : {}), ...inner.stats },
  }, { msgID: `${v.jobId}-finalized` });
}
