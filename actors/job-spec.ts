/**
 * The `spec` of each job type, as the CLI submits it and the actors read it
 * back from the job record. Validated on read: a record is data from the
 * wire like any other.
 */
import { FerryError } from '../protocol/errors.ts';
import { SiteJob, type WorkRetention } from '../protocol/messages.ts';

export interface BackupSpec {
  /** Paths recorded in the snapshot (the backed-up roots). */
  readonly paths: string[];
  /** What to walk, when narrower than `paths` (tracked files of the personal workflow). */
  readonly select?: string[] | undefined;
  readonly host: string;
  readonly source: string;
  readonly tags: string[];
  readonly parent?: string | undefined;
}

export interface RestoreSpec {
  readonly snapshot: string;
  readonly path: string[];
  readonly target: string;
  readonly contentOnly: boolean;
}

export interface VerifySpec {
  readonly readData: boolean;
}

export interface SiteSpec {
  /** The site's name or uuid. */
  readonly site: string;
  readonly job: SiteJob;
}

const bad = (what: string) => new FerryError('job.bad-spec', `job spec field ${what} is missing or malformed`);
const strings = (v: unknown, what: string): string[] => {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw bad(what);
  return v as string[];
};
const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string') throw bad(what);
  return v;
};

export function backupSpec(spec: Record<string, unknown>): BackupSpec {
  return {
    paths: strings(spec.paths, 'paths'),
    select: spec.select === undefined ? undefined : strings(spec.select, 'select'),
    host: str(spec.host, 'host'),
    source: str(spec.source, 'source'),
    tags: spec.tags === undefined ? [] : strings(spec.tags, 'tags'),
    parent: spec.parent === undefined ? undefined : str(spec.parent, 'parent'),
  };
}

export function restoreSpec(spec: Record<string, unknown>): RestoreSpec {
  return { snapshot: str(spec.snapshot, 'snapshot'), path: strings(spec.path ?? [], 'path'), target: str(spec.target, 'target'), contentOnly: spec.contentOnly === true };
}

export function siteSpec(spec: Record<string, unknown>): SiteSpec {
  if (!SiteJob.includes(spec.job as SiteJob)) throw bad('job');
  return { site: str(spec.site, 'site'), job: spec.job as SiteJob };
}

/** A sync job's spec: `{to}`, the destination repository's location. */
export function syncSpec(spec: Record<string, unknown>): { to: string } {
  return { to: str(spec.to, 'to') };
}

/** A retention job's spec: `{source?, prune?, graceMs?, maxUnusedPermille?}` (defaults: prune, 1 h, 20%). */
export function retentionSpec(spec: Record<string, unknown>): Omit<WorkRetention, 'jobId' | 'tenant' | 'repoId'> {
  const num = (v: unknown, field: string, dflt: number, max: number) => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw bad(field);
    return v;
  };
  return {
    ...(spec.source === undefined ? {} : { source: str(spec.source, 'source') }),
    prune: spec.prune !== false,
    graceMs: num(spec.graceMs, 'graceMs', 3_600_000, 365 * 86_400_000),
    maxUnusedPermille: num(spec.maxUnusedPermille, 'maxUnusedPermille', 200, 1000),
  };
}

export function verifySpec(spec: Record<string, unknown>): VerifySpec {
  return { readData: spec.readData === true };
}
