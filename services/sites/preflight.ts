/**
 * A site's preflight: can a backup of it work right now? It checks, in
 * order, the SSH login (with the pinned host key), what each target needs
 * on the remote host (its path, its tools, a writable temporary directory),
 * each FTP target's login and directory, and what the pull needs here
 * (rsync and ssh, the dump tools, free space for staging). A site without
 * an SSH login gets no SSH checks.
 *
 * Contract: never throws for a failed check; each check comes back with
 * `ok` and, when it failed, a message that names the cause and what to do.
 * The report is `ok` only if every check passed. A failed login stops the
 * remote checks (there is nothing to run them on).
 */
import { statfs } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { SshSession, type SshTarget } from '../sources/ssh-session.ts';
import { shellQuote } from '../sources/shell-quote.ts';
import { probeFtp } from '../sources/ftp-pull.ts';
import { missingToolMessage } from '../sources/run-tool.ts';
import { needsSsh, type TargetRecord } from './site-record.ts';
import type { RevealUrl } from './pull-targets.ts';

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly message?: string | undefined;
}

export interface PreflightReport {
  readonly ok: boolean;
  readonly checks: readonly Check[];
  /** The failed checks' messages, in order: what a person reads first. */
  readonly summary: string;
}

export interface PreflightOptions {
  /** Where pulls are staged: must have `minFreeBytes` free. */
  readonly stagingRoot: string;
  readonly minFreeBytes: number;
  /** Opens a target's sealed URL (FTP targets log in with it). */
  readonly revealUrl: RevealUrl;
}

/** What a kind of target needs on the remote host, as shell tests; each names what it checks. */
function remoteNeeds(t: TargetRecord): { what: string; test: string; fix: string }[] {
  const path = shellQuote(t.display);
  const tool = (name: string, fix: string) => ({ what: `${name} on the site`, test: `command -v ${name} >/dev/null 2>&1`, fix });
  switch (t.kind) {
    case 'directory':
      return [
        { what: `directory ${t.display}`, test: `test -d ${path} && test -r ${path} && test -x ${path}`, fix: 'check the path and that the SSH user can read it' },
        tool('rsync', 'install rsync on the site, or use an sftp target'),
      ];
    case 'sftp':
      return [{ what: `directory ${t.display}`, test: `test -d ${path} && test -r ${path}`, fix: 'check the path and that the SSH user can read it' }];
    case 'wordpress':
      return [
        { what: `WordPress at ${t.display}`, test: `test -r ${shellQuote(`${t.display}/wp-config.php`)}`, fix: 'point the target at the directory that holds wp-config.php' },
        tool('rsync', 'install rsync on the site'),
        // Its database is dumped on the site, where wp-config.php says it is.
        tool('mysqldump', 'install the MariaDB/MySQL client (mysqldump) on the site'),
      ];
    case 'sqlite':
      return [
        { what: `SQLite file ${t.display}`, test: `test -r ${path}`, fix: 'check the path and that the SSH user can read it' },
        tool('sqlite3', 'install the sqlite3 command-line tool on the site'),
        tool('gzip', 'install gzip on the site'),
        { what: 'a writable temporary directory on the site', test: 'd=$(mktemp -d) && rmdir "$d"', fix: 'make TMPDIR (or /tmp) writable for the SSH user' },
      ];
    case 'postgres':
      return t.overSsh ? [tool('pg_dump', 'install the PostgreSQL client (pg_dump) on the site')] : [];
    case 'mysql':
      return t.overSsh ? [tool('mysqldump', 'install the MariaDB/MySQL client (mysqldump) on the site')] : [];
    case 'ftp':
      return []; // reached directly, not through the site's shell: checked by ftpChecks
  }
}

function localTools(targets: readonly TargetRecord[]): string[] {
  const need = new Set<string>();
  for (const t of targets) {
    if (t.kind === 'directory' || t.kind === 'wordpress') need.add('rsync').add('ssh');
    if (t.kind === 'postgres' && !t.overSsh) need.add('pg_dump');
    if (t.kind === 'mysql' && !t.overSsh) need.add('mysqldump');
  }
  return [...need].sort();
}

function onPath(tool: string): Promise<boolean> {
  return new Promise((resolve) => execFile('sh', ['-c', `command -v ${shellQuote(tool)}`], (err) => resolve(!err)));
}

async function ftpChecks(targets: readonly TargetRecord[], reveal: RevealUrl): Promise<Check[]> {
  const checks: Check[] = [];
  for (const t of targets.filter((x) => x.kind === 'ftp')) {
    const name = `ftp ${t.display}`;
    checks.push(await probeFtp(reveal(t)).then(() => ({ name, ok: true }), (err: Error) => ({ name, ok: false, message: err.message })));
  }
  return checks;
}

export async function runPreflight(target: SshTarget | undefined, targets: readonly TargetRecord[], opts: PreflightOptions): Promise<PreflightReport> {
  const checks: Check[] = [];
  let session: SshSession | undefined;
  if (target) {
    try {
      session = await SshSession.open(target);
      checks.push({ name: 'ssh login', ok: true });
    } catch (err) {
      checks.push({ name: 'ssh login', ok: false, message: (err as Error).message });
    }
  }
  try {
    if (session && target) {
      for (const t of targets) {
        for (const need of remoteNeeds(t)) {
          const r = await session.exec(need.test).catch((err: Error) => ({ code: -1, stderr: err.message }));
          checks.push(r.code === 0 ? { name: need.what, ok: true } : { name: need.what, ok: false, message: `${SshSession.where(target)}: ${need.what} is missing or unreadable; ${need.fix}` });
        }
      }
    }
  } finally {
    await session?.close();
  }
  if (!target) {
    for (const t of targets.filter(needsSsh)) checks.push({ name: `${t.kind} ${t.display}`, ok: false, message: `the ${t.kind} target ${t.display} needs an SSH login, and this site has none; remove the target, or add the site again with --host` });
  }
  checks.push(...(await ftpChecks(targets, opts.revealUrl)));
  for (const tool of localTools(targets)) {
    const ok = await onPath(tool);
    checks.push(ok ? { name: `${tool} here`, ok } : { name: `${tool} here`, ok, message: missingToolMessage(tool) });
  }
  const free = await statfs(opts.stagingRoot).then((s) => s.bavail * s.bsize, () => undefined);
  if (free === undefined) checks.push({ name: 'staging space', ok: false, message: `cannot read free space of ${opts.stagingRoot}` });
  else if (free < opts.minFreeBytes) checks.push({ name: 'staging space', ok: false, message: `only ${Math.floor(free / 2 ** 20)} MiB free at ${opts.stagingRoot}, below the ${Math.floor(opts.minFreeBytes / 2 ** 20)} MiB a pull needs; free space or move FERRY_STAGING_DIR` });
  else checks.push({ name: 'staging space', ok: true });
  const failed = checks.filter((c) => !c.ok);
  return { ok: failed.length === 0, checks, summary: failed.map((c) => c.message).join('; ') };
}
