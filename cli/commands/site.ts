/**
 * `ferry site` and `ferry target`: the pull sites (hosts over SSH, or
 * sources reached without a shell, like an FTP account) and what to pull
 * from each. Records live in the `ferry-sites` bucket; credentials are
 * sealed to the site-secrets key (FERRY_SITE_KEY_FILE) before they leave
 * this process, and never printed.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { UsageError } from '../usage-error.ts';
import { withKv } from '../runtime.ts';
import type { Session } from '../session.ts';
import { Buckets } from '../../protocol/resources.ts';
import { isId } from '../../protocol/subjects.ts';
import { SiteStore } from '../../services/sites/site-store.ts';
import { SiteSecrets } from '../../services/sites/site-secrets.ts';
import { secretKeyOf, targetHash, TargetKinds, needsSsh, type SiteRecord, type SshLogin, type TargetKind, type TargetRecord } from '../../services/sites/site-record.ts';
import { parseTarget } from '../../services/sites/target-spec.ts';
import { SshSession, fingerprintOfKeyLine } from '../../services/sources/ssh-session.ts';
import { runJobFromCli } from '../run-job.ts';
import { ScheduleStore, nextRun } from '../../actors/schedules.ts';
import { siteCron, siteScheduleName } from '../../services/sites/site-schedule.ts';
import { SyncStateStore, type SyncState } from '../../actors/sync-state.ts';

async function withStores<T>(s: Session, fn: (sites: SiteStore, schedules: ScheduleStore, syncs: SyncStateStore) => Promise<T>): Promise<T> {
  return withKv(s, async (kv) => fn(new SiteStore(await kv(Buckets.Sites)), new ScheduleStore(await kv(Buckets.Schedules)), new SyncStateStore(await kv(Buckets.Sync))));
}

const withStore = <T>(s: Session, fn: (sites: SiteStore) => Promise<T>): Promise<T> => withStores(s, (sites) => fn(sites));

/** What lists and `show` print of a site: everything but its secrets. */
function publicView(site: SiteRecord) {
  return {
    name: site.name,
    uuid: site.uuid,
    address: site.ssh ? SshSession.where(site.ssh) : null,
    auth: site.ssh?.auth ?? null,
    hostKeyFingerprint: site.ssh?.hostKey ? fingerprintOfKeyLine(site.ssh.hostKey) : null,
    health: site.health,
    lastPreflight: site.lastPreflight ?? null,
    lastBackup: site.lastBackup ?? null,
    targets: site.targets.map(targetView),
  };
}

function targetView(t: TargetRecord) {
  return { hash: t.hash, kind: t.kind, location: t.display, overSsh: t.overSsh };
}

/** A location the user mistyped is a usage error (exit 2), like any other bad argument. */
function asUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function port(v: string | undefined): number {
  if (v === undefined) return 22;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`--port must be 1-65535, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * Logs in to a new site once: proves the login works and pins the host key
 * it presents (or checks the one given), then seals the credential.
 */
async function firstContact(s: Session, uuid: string, values: { host: string; user: string; port?: string | undefined; key?: string | undefined; 'ssh-password-file'?: string | undefined; 'host-key'?: string | undefined }, secrets: SiteSecrets): Promise<SshLogin> {
  const auth = values.key ? 'key' : 'password';
  const raw = await readFile((values.key ?? values['ssh-password-file'])!, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`site add: cannot read the ${values.key ? '--key' : '--ssh-password-file'} file (${err.code})`);
  });
  // A password file's final newline is the editor's, not the password's.
  const credential = auth === 'password' ? raw.replace(/\r?\n$/, '') : raw;
  const target = {
    host: values.host,
    port: port(values.port),
    user: values.user,
    ...(auth === 'key' ? { privateKey: credential } : { password: credential }),
    ...(values['host-key'] ? { hostKey: values['host-key'] } : {}),
  };
  const session = await SshSession.open(target);
  const hostKey = session.hostKey;
  await session.close();
  return {
    host: target.host, port: target.port, user: target.user, auth, hostKey,
    secret: secrets.seal(new TextEncoder().encode(credential), secretKeyOf({ tenant: s.cfg.tenant, uuid })),
  };
}

async function addSite(s: Session, name: string | undefined, args: string[]): Promise<ExitCode> {
  const { values } = parseCommandArgs('site add', args, {
    host: { type: 'string' },
    port: { type: 'string' },
    user: { type: 'string' },
    key: { type: 'string' },
    'ssh-password-file': { type: 'string' },
    'host-key': { type: 'string' },
    every: { type: 'string' },
  });
  if (!name || !isId(name)) throw new UsageError('site add: NAME must match [A-Za-z0-9_-] (1-64 characters)');
  const sshFlags = (['port', 'user', 'key', 'ssh-password-file', 'host-key'] as const).filter((f) => values[f] !== undefined);
  if (!values.host && sshFlags.length > 0) throw new UsageError(`site add: --${sshFlags[0]} is part of an SSH login, which needs --host`);
  if (values.host && !values.user) throw new UsageError('site add: --user is required with --host');
  if (values.host && !!values.key === !!values['ssh-password-file']) throw new UsageError('site add: give exactly one of --key FILE and --ssh-password-file FILE');
  const every = values.every === undefined ? s.cfg.siteScanIntervalHours : Number(values.every);
  if (!Number.isInteger(every) || every < 0) throw new UsageError(`site add: --every is whole hours (0 for no schedule), not ${JSON.stringify(values.every)}`);
  // Checked before anything is stored; the uuid only moves the time within the interval.
  if (every > 0) asUsage(() => siteCron('check', every));
  // A scheduled site is backed up into this repository: open it now, so a wrong passphrase stops here.
  const repoId = every > 0 ? (await s.repo()).config.id : undefined;
  const secrets = await SiteSecrets.load(s.cfg.siteKeyFile, { create: true });
  const uuid = SiteStore.newUuid();
  const ssh = values.host ? await firstContact(s, uuid, { ...values, host: values.host, user: values.user! }, secrets) : undefined;
  const site: SiteRecord = { v: 2, uuid, name, tenant: s.cfg.tenant, ssh, targets: [], health: 'unknown', createdAt: Date.now() };
  const cron = every > 0 ? siteCron(uuid, every) : undefined;
  await withStores(s, async (sites, schedules) => {
    await sites.add(site);
    if (cron && repoId) await schedules.put({ name: siteScheduleName(name), tenant: s.cfg.tenant, cron, type: 'site', repoId, spec: { site: uuid, job: 'backup' }, createdAt: Date.now() });
  });
  const next = cron ? nextRun(cron, new Date())?.toISOString() : undefined;
  s.print({ ...publicView(site), schedule: cron ? { cron, next } : null }, () => [
    ...(ssh ? [`added site ${name} (${SshSession.where(ssh)})`, `pinned host key ${fingerprintOfKeyLine(ssh.hostKey!)}`] : [`added site ${name}, with no SSH login: it can have ftp targets and postgres/mysql targets dumped from here`]),
    cron ? `backed up every ${every} h (${cron}), next at ${next}` : 'not scheduled (--every 0)',
  ]);
  return ExitCode.Ok;
}

async function runSite(s: Session, name: string, args: string[]): Promise<ExitCode> {
  const { values } = parseCommandArgs('site run', args, { job: { type: 'string' }, to: { type: 'string' } });
  const job = values.job ?? 'backup';
  if (job === 'retention') {
    // The site's snapshots are source site-<name>: its stored policy (ferry retention set --site) applies, then prune.
    const { site } = await withStore(s, (store) => store.get(s.cfg.tenant, name));
    const { record, final } = await runJobFromCli(s, 'retention', { source: `site-${site.name}` });
    const sum = (final?.summary ?? {}) as Record<string, unknown>;
    s.print({ job: record.jobId, state: record.state, summary: sum }, () => `retention of ${site.name}: forgot ${Number(sum.removedSnapshots ?? 0)} snapshot(s), deleted ${Number(sum.deletedPacks ?? 0)} pack(s)`);
    return ExitCode.Ok;
  }
  if (job === 'sync') {
    // A sync copies the whole repository, this site's snapshots with the rest (seed 001's off-site copy).
    if (!values.to) throw new UsageError('site run --job sync: --to REPO names the copy (a path or s3://bucket/prefix)');
    await withStore(s, (store) => store.get(s.cfg.tenant, name));
    const { record, final } = await runJobFromCli(s, 'sync', { to: values.to });
    const sum = (final?.summary ?? {}) as Record<string, unknown>;
    s.print({ job: record.jobId, state: record.state, summary: sum }, () => `sync to ${values.to}: ${Number(sum.copied ?? 0)} object(s) copied, ${Number(sum.lagSeconds ?? 0)} s behind`);
    return ExitCode.Ok;
  }
  if (job !== 'preflight' && job !== 'backup') throw new UsageError(`site run: --job is preflight, backup, retention or sync, not ${JSON.stringify(job)}`);
  const { record, final } = await runJobFromCli(s, 'site', { site: name, job }, job === 'preflight' ? ['coordinator', 'site'] : undefined);
  const summary = (final?.summary ?? {}) as Record<string, unknown>;
  if (job === 'preflight') {
    s.print({ job: record.jobId, state: record.state, summary }, () => `preflight of ${name}: all ${Number(summary.checks ?? 0)} checks passed`);
    return ExitCode.Ok;
  }
  const failedTargets = Array.isArray(summary.failedTargets) ? summary.failedTargets.length : 0;
  s.print({ job: record.jobId, state: record.state, snapshot: record.snapshotId ?? null, summary }, () => [
    `backup of ${name}: snapshot ${record.snapshotId?.slice(0, 12) ?? '-'}, ${Number(summary.targets ?? 0) - failedTargets} of ${Number(summary.targets ?? 0)} targets pulled`,
    ...(record.state === 'warning' && typeof summary.message === 'string' ? [`warning: ${summary.message}`] : []),
  ]);
  return record.state === 'warning' ? ExitCode.Warnings : ExitCode.Ok;
}

export const siteCommand: Command = {
  name: 'site',
  usage: 'ferry site add NAME [--host H [--port P] --user U (--key FILE | --ssh-password-file FILE) [--host-key "TYPE BASE64"]] [--every HOURS] | ferry site list | ferry site status | ferry site show NAME | ferry site remove NAME | ferry site run NAME [--job preflight|backup|retention|sync [--to REPO]]',
  summary: 'pull sites: hosts reached over SSH (or sources without one, like FTP), their pinned host keys and health',
  async run(args, s) {
    const [verb, name, ...rest] = args;
    if (verb === 'add') return addSite(s, name, rest);
    if (verb === 'run' && name) return runSite(s, name, rest);
    if (verb === 'status' && name === undefined) {
      // The copies (ferry sync) hold every site's snapshots: each site shows their sync state.
      const [sites, copies] = await withStores(s, async (store, _schedules, syncs) => [await store.list(s.cfg.tenant), await syncs.list(s.cfg.tenant)] as const);
      const rows = sites.map((x) => ({ name: x.name, health: x.health, lastPreflight: x.lastPreflight ?? null, lastBackup: x.lastBackup ?? null, sync: copies }));
      const when = (r: { at: number; state: string; message?: string | undefined } | null) => (r ? `${r.state} ${new Date(r.at).toISOString()}${r.message ? ` (${r.message})` : ''}` : 'never');
      const copyLine = (c: SyncState) => `  sync to ${c.to}: ${c.error ? `failed (${c.error.message})` : 'ok'}, last success ${c.lastSuccessAt ? new Date(c.lastSuccessAt).toISOString() : 'never'}, ${c.lagSeconds < 0 ? 'lag unknown' : `${c.lagSeconds} s behind`}`;
      s.print(rows, () => (rows.length ? [...rows.flatMap((r) => [`${r.name}: ${r.health}`, `  preflight ${when(r.lastPreflight)}`, `  backup    ${when(r.lastBackup)}`]), ...copies.map(copyLine)] : 'no sites'));
      return ExitCode.Ok;
    }
    if (verb === 'list' && name === undefined) {
      const sites = await withStore(s, (store) => store.list(s.cfg.tenant));
      const rows = sites.map(publicView);
      s.print(rows, () => (rows.length ? rows.map((r) => `${r.name.padEnd(16)} ${(r.address ?? 'no SSH login').padEnd(32)} ${r.health.padEnd(8)} ${r.targets.length} target(s)`) : 'no sites'));
      return ExitCode.Ok;
    }
    if (verb === 'show' && name) {
      const { site } = await withStore(s, (store) => store.get(s.cfg.tenant, name));
      const v = publicView(site);
      s.print(v, () => [
        `${v.name}  ${v.address ? `${v.address}  (${v.auth})` : 'no SSH login'}  health ${v.health}`,
        `  uuid ${v.uuid}`,
        ...(v.address ? [`  host key ${v.hostKeyFingerprint ?? 'not pinned'}`] : []),
        ...v.targets.map((t) => `  ${t.hash}  ${t.kind.padEnd(9)} ${t.location}${t.overSsh ? '  (over ssh)' : ''}`),
      ]);
      return ExitCode.Ok;
    }
    if (verb === 'remove' && name) {
      const site = await withStores(s, async (sites, schedules) => {
        const gone = await sites.remove(s.cfg.tenant, name);
        await schedules.remove(s.cfg.tenant, siteScheduleName(gone.name));
        return gone;
      });
      s.print({ removed: site.name, uuid: site.uuid }, () => `removed site ${site.name}`);
      return ExitCode.Ok;
    }
    throw new UsageError(`usage: ${siteCommand.usage}`);
  },
};

export const targetCommand: Command = {
  name: 'target',
  usage: `ferry target add SITE KIND LOCATION [--over-ssh] | ferry target list SITE | ferry target remove SITE HASH   (KIND: ${TargetKinds.join(', ')})`,
  summary: 'what to pull from a site: directories, SQLite files, databases, FTP, WordPress',
  async run(args, s) {
    const { values, positionals } = parseCommandArgs('target', args, { 'over-ssh': { type: 'boolean' } });
    const [verb, siteName, a, b] = positionals;
    if (!siteName) throw new UsageError(`usage: ${targetCommand.usage}`);
    if (verb === 'list') {
      const { site } = await withStore(s, (store) => store.get(s.cfg.tenant, siteName));
      const rows = site.targets.map(targetView);
      s.print(rows, () => (rows.length ? rows.map((t) => `${t.hash}  ${t.kind.padEnd(9)} ${t.location}${t.overSsh ? '  (over ssh)' : ''}`) : `site ${site.name} has no targets`));
      return ExitCode.Ok;
    }
    if (verb === 'add' && a && b) {
      if (!TargetKinds.includes(a as TargetKind)) throw new UsageError(`target add: KIND must be one of ${TargetKinds.join(', ')}, not ${JSON.stringify(a)}`);
      const kind = a as TargetKind;
      if (values['over-ssh'] && kind !== 'postgres' && kind !== 'mysql') throw new UsageError('target add: --over-ssh is for postgres and mysql targets');
      const parsed = asUsage(() => parseTarget(kind, b));
      const hash = targetHash(kind, parsed.display);
      const secrets = parsed.secretUrl ? await SiteSecrets.load(s.cfg.siteKeyFile, { create: false }) : undefined;
      const added = await withStore(s, (store) =>
        store.update(s.cfg.tenant, siteName, (site) => {
          if (!site.ssh && needsSsh({ kind, overSsh: values['over-ssh'] === true })) {
            throw new UsageError(`site ${site.name} has no SSH login (it was added without --host), and ${values['over-ssh'] ? 'a dump over SSH' : `a ${kind} target`} needs one; add the site again with --host`);
          }
          if (site.targets.some((t) => t.hash === hash)) throw new UsageError(`site ${site.name} already has this target (${hash})`);
          const sealedUrl = parsed.secretUrl && secrets ? secrets.seal(new TextEncoder().encode(parsed.secretUrl), `${secretKeyOf(site)}.${hash}`) : undefined;
          return { ...site, targets: [...site.targets, { hash, kind, display: parsed.display, sealedUrl, overSsh: values['over-ssh'] === true, addedAt: Date.now() }] };
        }),
      );
      s.print(targetView(added.targets.at(-1)!), () => `added ${kind} target ${parsed.display} to ${added.name} (${hash})`);
      return ExitCode.Ok;
    }
    if (verb === 'remove' && a) {
      const site = await withStore(s, (store) =>
        store.update(s.cfg.tenant, siteName, (x) => {
          if (!x.targets.some((t) => t.hash === a)) throw new UsageError(`site ${x.name} has no target ${a} (see ferry target list ${x.name})`);
          return { ...x, targets: x.targets.filter((t) => t.hash !== a) };
        }),
      );
      s.print({ site: site.name, removed: a }, () => `removed target ${a} from ${site.name}`);
      return ExitCode.Ok;
    }
    throw new UsageError(`usage: ${targetCommand.usage}`);
  },
};
