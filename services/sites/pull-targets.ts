/**
 * Pulls every target of a site into its staging directory,
 * `<staging>/<site uuid>/<target hash>/`, one after another. A target that
 * fails does not stop the others: its result says why, and its staging
 * directory keeps what the last good pull left (the snapshot then still
 * holds the previous copy rather than nothing). Directories of targets the
 * site no longer has are removed, so they leave the next snapshot.
 */
import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pullDirectory, type PullStats } from '../sources/rsync-pull.ts';
import { pullSqlite } from '../sources/sqlite-pull.ts';
import { dumpDatabase } from '../sources/db-dump.ts';
import { pullWordPress } from '../sources/wordpress.ts';
import { pullSftp } from '../sources/sftp-pull.ts';
import { pullFtp } from '../sources/ftp-pull.ts';
import type { SshTarget } from '../sources/ssh-session.ts';
import { FerryError } from '../../protocol/errors.ts';
import type { TargetRecord } from './site-record.ts';
import { DEFAULT_STEP_POLICY, runStep, type StepPolicy } from './step-runner.ts';

export interface TargetResult {
  readonly hash: string;
  readonly kind: string;
  readonly location: string;
  readonly ok: boolean;
  /** Pulled, but some files could not be read or vanished. */
  readonly partial: boolean;
  readonly message?: string | undefined;
}

/** A target's URL with its password (opened from `sealedUrl`), for the dump tools. */
export type RevealUrl = (t: TargetRecord) => string;

/** A mirror pull's outcome: partial pulls carry the first of their warnings. */
function mirrored(r: PullStats): { partial: boolean; message?: string } {
  return r.partial ? { partial: true, message: r.warnings.slice(0, 5).join('; ') } : { partial: false };
}

async function pullOne(ssh: SshTarget | undefined, t: TargetRecord, into: string, reveal: RevealUrl, signal?: AbortSignal): Promise<{ partial: boolean; message?: string }> {
  const stop = signal ? { signal } : {};
  // Targets that need no shell on the site: a site without an SSH login may have these alone.
  if (t.kind === 'ftp') return mirrored(await pullFtp({ url: reveal(t), into, ...stop }));
  if (t.kind === 'postgres' || t.kind === 'mysql') {
    await dumpDatabase({ kind: t.kind, url: reveal(t), overSsh: t.overSsh, ssh, into, ...stop });
    return { partial: false };
  }
  if (!ssh) throw new FerryError('site.no-ssh', `a ${t.kind} target needs the site's SSH login, and this site has none`);
  switch (t.kind) {
    case 'directory':
      return mirrored(await pullDirectory({ target: ssh, remotePath: t.display, into, ...stop }));
    case 'sqlite':
      await pullSqlite({ target: ssh, remotePath: t.display, into, ...stop });
      return { partial: false };
    case 'sftp':
      return mirrored(await pullSftp({ target: ssh, remotePath: t.display, into, ...stop }));
    case 'wordpress':
      return mirrored(await pullWordPress({ target: ssh, root: t.display, into, ...stop }));
  }
}

export async function pullTargets(
  ssh: SshTarget | undefined,
  targets: readonly TargetRecord[],
  siteStaging: string,
  opts: {
    signal?: AbortSignal;
    revealUrl?: RevealUrl;
    /** Time limit and retries of each target's pull. */
    policy?: StepPolicy;
    onResult?: (r: TargetResult) => Promise<void> | void;
    onRetry?: (t: TargetRecord, attempt: number, err: Error, delayMs: number) => void;
  } = {},
): Promise<TargetResult[]> {
  await mkdir(siteStaging, { recursive: true, mode: 0o700 });
  await chmod(siteStaging, 0o700);
  const keep = new Set(targets.map((t) => t.hash));
  for (const name of await readdir(siteStaging)) if (!keep.has(name)) await rm(join(siteStaging, name), { recursive: true, force: true });
  const results: TargetResult[] = [];
  for (const t of targets) {
    opts.signal?.throwIfAborted();
    const base = { hash: t.hash, kind: t.kind, location: t.display };
    let r: TargetResult;
    try {
      const out = await runStep(`pulling ${t.kind} ${t.display}`, opts.policy ?? DEFAULT_STEP_POLICY, (signal) => pullOne(ssh, t, join(siteStaging, t.hash), opts.revealUrl ?? ((x) => x.display), signal), {
        ...(opts.signal ? { signal: opts.signal } : {}),
        onRetry: (attempt, err, delayMs) => opts.onRetry?.(t, attempt, err, delayMs),
      });
      r = { ...base, ok: true, partial: out.partial, message: out.message };
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      r = { ...base, ok: false, partial: false, message: (err as Error).message };
    }
    results.push(r);
    await opts.onResult?.(r);
  }
  return results;
}
