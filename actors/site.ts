/**
 * Site actor: runs the jobs of pull sites (seed 001's Satoru, seed 004's
 * workers). One site's jobs never overlap: each holds the lease
 * `site.<tenant>.<site uuid>` while it runs, and a second one waits for it
 * (on its lane, heartbeating) rather than fail. Different sites run side by
 * side, up to the actor's concurrency (`job_worker_concurrency`).
 *
 * Credentials are opened here, with the site-secrets key this process was
 * given, and go no further than the connection: events and the site's
 * record get checks and messages, never a secret.
 */
import { hostname } from 'node:os';
import { mkdir } from 'node:fs/promises';
import type { ActorContext, ActorMessage } from './runtime/actor-context.ts';
import { LeaseKeeper } from './runtime/lease-keeper.ts';
import { Leases } from './runtime/leases.ts';
import { publishJobEvent } from './job-events.ts';
import { Buckets } from '../protocol/resources.ts';
import { subjects } from '../protocol/subjects.ts';
import { SiteStore } from '../services/sites/site-store.ts';
import { SiteSecrets } from '../services/sites/site-secrets.ts';
import { secretKeyOf, type SiteRecord, type TargetRecord } from '../services/sites/site-record.ts';
import { runPreflight } from '../services/sites/preflight.ts';
import type { SshTarget } from '../services/sources/ssh-session.ts';
import type { Repository } from '../services/repo/repository.ts';
import { runSiteBackup } from './site-backup.ts';
import type { StepPolicy } from '../services/sites/step-runner.ts';

export interface SiteActorDeps {
  /** The site-secrets key file (FERRY_SITE_KEY_FILE). */
  readonly siteKeyFile: string;
  /** Where pulls are staged: `<root>/<site uuid>/<target hash>/`. */
  readonly stagingRoot: string;
  /** Free space a pull needs in the staging root before it starts. */
  readonly minFreeBytes: number;
  /** The repository backups go to, for the parent snapshot of each. */
  readonly repo?: Repository | undefined;
  /** Time limit and retries of each target's pull. */
  readonly policy: StepPolicy;
}

const LEASE_TTL_MS = 60_000;
const HOLDER = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

/** The SSH target of a site with its credential opened; none for a site without an SSH login. */
function openTarget(secrets: SiteSecrets, site: SiteRecord): SshTarget | undefined {
  const login = site.ssh;
  if (!login) return undefined;
  const credential = new TextDecoder().decode(secrets.open(login.secret, secretKeyOf(site)));
  return {
    host: login.host,
    port: login.port,
    user: login.user,
    hostKey: login.hostKey,
    ...(login.auth === 'key' ? { privateKey: credential } : { password: credential }),
  };
}

/**
 * Waits for the site's lease, asking every second (a job of the same site
 * that just finished releases it; one whose process died lets it expire
 * within LEASE_TTL_MS), and keeps the message alive meanwhile.
 */
async function waitForLease(ctx: ActorContext, opts: Parameters<typeof LeaseKeeper.tryAcquire>[0]): Promise<LeaseKeeper> {
  for (;;) {
    ctx.signal.throwIfAborted();
    const keeper = await LeaseKeeper.tryAcquire(opts);
    if (keeper) return keeper;
    ctx.heartbeat();
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export function siteHandler(deps: SiteActorDeps) {
  return async (ctx: ActorContext, msg: ActorMessage<'work.site'>): Promise<void> => {
    const v = msg.value;
    const store = new SiteStore(await ctx.kv(Buckets.Sites));
    const { site } = await store.get(v.tenant, v.site);
    const leases = new Leases(await ctx.kv(Buckets.Leases));
    // The holder names the job, not only the process: a holder that asks again for a lease it
    // holds gets it, and two jobs of one site may be on two lanes of this process.
    const keeper = await waitForLease(ctx, { leases, key: `site.${v.tenant}.${site.uuid}`, holder: `${HOLDER}-${v.jobId}`, ttlMs: LEASE_TTL_MS, log: ctx.log });
    await publishJobEvent(ctx, v, 'step', { step: 'lease', site: site.name, state: 'acquired' }, 'site');
    try {
      const secrets = await SiteSecrets.load(deps.siteKeyFile, { create: false });
      const revealUrl = (t: TargetRecord) => (t.sealedUrl ? new TextDecoder().decode(secrets.open(t.sealedUrl, `${secretKeyOf(site)}.${t.hash}`)) : t.display);
      if (v.job === 'backup') {
        await runSiteBackup({ ctx, job: v, store, site, ssh: openTarget(secrets, site), revealUrl, policy: deps.policy, stagingRoot: deps.stagingRoot, repo: deps.repo });
        return;
      }
      await publishJobEvent(ctx, v, 'step', { step: 'preflight', site: site.name, state: 'started' }, 'site');
      await mkdir(deps.stagingRoot, { recursive: true, mode: 0o700 });
      const report = await runPreflight(openTarget(secrets, site), site.targets, { stagingRoot: deps.stagingRoot, minFreeBytes: deps.minFreeBytes, revealUrl });
      for (const c of report.checks) await publishJobEvent(ctx, v, 'step', { step: 'preflight', site: site.name, check: c.name, ok: c.ok, ...(c.message ? { message: c.message } : {}) }, 'site');
      const at = Date.now();
      await store.update(v.tenant, site.uuid, (s) => ({
        ...s,
        health: report.ok ? (s.health === 'failed' || s.health === 'unknown' ? 'ok' : s.health) : 'failed',
        lastPreflight: { at, state: report.ok ? 'ok' : 'failed', message: report.ok ? undefined : report.summary },
      }));
      const summary = { site: site.name, checks: report.checks.length, failedChecks: report.checks.filter((c) => !c.ok).length };
      if (report.ok) {
        await ctx.publish(subjects.job(v.tenant, 'finalized'), 'job.finalized', { jobId: v.jobId, tenant: v.tenant, status: 'success', summary }, { msgID: `${v.jobId}-finalized` });
      } else {
        await ctx.publish(subjects.job(v.tenant, 'failed'), 'job.failed', {
          jobId: v.jobId, tenant: v.tenant,
          error: { code: 'site.preflight-failed', message: `preflight of ${site.name}: ${report.summary}`, retryable: false, details: { site: site.name, failedChecks: summary.failedChecks } },
        }, { msgID: `${v.jobId}-failed` });
      }
    } finally {
      await keeper.close();
    }
  };
}
