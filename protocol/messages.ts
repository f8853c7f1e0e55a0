/**
 * The registry of message kinds: for each kind, its current version and a
 * validator that turns an untrusted decoded body into the typed message or
 * throws `protocol.invalid` with details {kind, field}.
 *
 * Versioning: adding an optional field keeps the version (old readers drop
 * it); anything else is a new version. A process speaks exactly the versions
 * listed here and dead-letters others (`protocol.bad-version`), so roll out
 * readers before writers.
 */
import { ProtocolError, ProtocolErrorCode, type WireError } from './errors.ts';
import { compact, Fields } from './fields.ts';
import type { EventType } from './subjects.ts';

export const JobType = ['backup', 'restore', 'verify', 'scan', 'site', 'retention', 'sync'] as const;
export type JobType = (typeof JobType)[number];

export const FinalStatus = ['success', 'warning', 'failed'] as const;
export type FinalStatus = (typeof FinalStatus)[number];

const EVENT_TYPES: readonly EventType[] = ['state', 'progress', 'step'];

/** Fields every job-scoped message carries; both are IDs (they appear in subjects and keys). */
export interface JobScoped {
  jobId: string;
  tenant: string;
}

export interface JobSubmit extends JobScoped {
  type: JobType;
  repoId: string;
  /** Job-type specific parameters, validated by the coordinator's domain layer. */
  spec: Record<string, unknown>;
  requestedAt: number;
}
export interface JobScanDone extends JobScoped {
  batches: number;
  files: number;
  bytes: number;
  errors: number;
}
export interface JobFinalized extends JobScoped {
  snapshotId?: string;
  status: FinalStatus;
  summary: Record<string, unknown>;
}
export interface JobFailed extends JobScoped {
  error: WireError;
}
export type JobCancel = JobScoped;

export const SiteJob = ['preflight', 'backup'] as const;
export type SiteJob = (typeof SiteJob)[number];

/** A job on one pull site (actors/site.ts). */
export interface WorkSite extends JobScoped {
  repoId: string;
  /** The site's name or uuid. */
  site: string;
  job: SiteJob;
}
export interface WorkScan extends JobScoped {
  repoId: string;
  source: string;
  host: string;
  paths: string[];
  parentSnapshot?: string;
  tags: string[];
  /** A scan job: walk and compare, publish no upload batches. */
  dryRun?: boolean;
}
export interface WorkUpload extends JobScoped {
  repoId: string;
  seq: number;
  startPos: string[];
  endPos: string[];
  /** File records of one batch: canonical MessagePack scan events, decoded and validated by the domain layer (services/jobs/scan-events.ts). */
  events: Uint8Array;
}
/** A file the walk sent ahead of its batch (services/jobs/files-ahead.ts). */
export interface WorkUploadFile extends JobScoped {
  repoId: string;
  /** One scan event, a file to read, encoded as a batch's events are. */
  events: Uint8Array;
}
export interface WorkFinalize extends JobScoped {
  repoId: string;
  batches: number;
}
export interface WorkRestore extends JobScoped {
  repoId: string;
  snapshot: string;
  path: string[];
  target: string;
  contentOnly: boolean;
}
export interface WorkVerify extends JobScoped {
  repoId: string;
  readData: boolean;
}
/** Copy the repository to a second one (actors/sync-job.ts). */
export interface WorkSync extends JobScoped {
  repoId: string;
  /** The destination: a path or s3://bucket/prefix (never credentials). */
  to: string;
}
/** Forget by the stored policies (of one source, or all), then optionally prune (actors/retention.ts). */
export interface WorkRetention extends JobScoped {
  repoId: string;
  /** Only this source's snapshots; absent: every source with a stored policy. */
  source?: string | undefined;
  prune: boolean;
  graceMs: number;
  /** Repack packs more than this fraction unused, in thousandths (0-1000). */
  maxUnusedPermille: number;
}
export interface JobEvent extends JobScoped {
  type: EventType;
  at: number;
  actor: string;
  data: Record<string, unknown>;
}
export interface DeadLetter {
  actor: string;
  subject: string;
  reason: string;
  code: string;
  headers: Record<string, string>;
  payload: Uint8Array;
  at: number;
}

const scoped = (f: Fields): JobScoped => ({ jobId: f.id('jobId'), tenant: f.id('tenant') });

/** Builds a registry entry; `read` sees the body through a Fields reader. */
function kind<T>(name: string, version: number, read: (f: Fields) => T) {
  return { version, validate: (value: unknown): T => compact(read(new Fields(name, value)) as T & object) as T };
}

export const Messages = {
  'job.submit': kind<JobSubmit>('job.submit', 1, (f) => ({
    ...scoped(f),
    type: f.oneOf('type', JobType),
    repoId: f.id('repoId'),
    spec: f.map('spec'),
    requestedAt: f.count('requestedAt'),
  })),
  'job.scan-done': kind<JobScanDone>('job.scan-done', 1, (f) => ({
    ...scoped(f),
    batches: f.count('batches'),
    files: f.count('files'),
    bytes: f.count('bytes'),
    errors: f.count('errors'),
  })),
  'job.finalized': kind<JobFinalized>('job.finalized', 1, (f) => ({
    ...scoped(f),
    snapshotId: f.optStr('snapshotId'),
    status: f.oneOf('status', FinalStatus),
    summary: f.map('summary'),
  })),
  'job.failed': kind<JobFailed>('job.failed', 1, (f) => ({ ...scoped(f), error: f.wireError('error') })),
  'job.cancel': kind<JobCancel>('job.cancel', 1, scoped),
  'work.scan': kind<WorkScan>('work.scan', 1, (f) => ({
    ...scoped(f),
    repoId: f.id('repoId'),
    source: f.str('source', { nonEmpty: true }),
    host: f.str('host'),
    paths: f.strings('paths'),
    parentSnapshot: f.optStr('parentSnapshot'),
    tags: f.strings('tags'),
    dryRun: f.absent('dryRun') ? undefined : f.bool('dryRun'),
  })),
  'work.upload': kind<WorkUpload>('work.upload', 1, (f) => ({
    ...scoped(f),
    repoId: f.id('repoId'),
    seq: f.count('seq'),
    startPos: f.strings('startPos'),
    endPos: f.strings('endPos'),
    events: f.bytes('events'),
  })),
  'work.upload-file': kind<WorkUploadFile>('work.upload-file', 1, (f) => ({ ...scoped(f), repoId: f.id('repoId'), events: f.bytes('events') })),
  'work.finalize': kind<WorkFinalize>('work.finalize', 1, (f) => ({ ...scoped(f), repoId: f.id('repoId'), batches: f.count('batches') })),
  'work.restore': kind<WorkRestore>('work.restore', 1, (f) => ({
    ...scoped(f),
    repoId: f.id('repoId'),
    snapshot: f.str('snapshot', { nonEmpty: true, max: 256 }),
    path: f.strings('path'),
    target: f.str('target', { nonEmpty: true }),
    contentOnly: f.bool('contentOnly'),
  })),
  'work.verify': kind<WorkVerify>('work.verify', 1, (f) => ({ ...scoped(f), repoId: f.id('repoId'), readData: f.bool('readData') })),
  'work.sync': kind<WorkSync>('work.sync', 1, (f) => ({ ...scoped(f), repoId: f.id('repoId'), to: f.str('to', { nonEmpty: true, max: 1024 }) })),
  'work.retention': kind<WorkRetention>('work.retention', 1, (f) => ({
    ...scoped(f), repoId: f.id('repoId'), source: f.absent('source') ? undefined : f.id('source'), prune: f.bool('prune'), graceMs: f.count('graceMs'), maxUnusedPermille: f.count('maxUnusedPermille'),
  })),
  'work.site': kind<WorkSite>('work.site', 1, (f) => ({ ...scoped(f), repoId: f.id('repoId'), site: f.id('site'), job: f.oneOf('job', SiteJob) })),
  event: kind<JobEvent>('event', 1, (f) => ({
    ...scoped(f),
    type: f.oneOf('type', EVENT_TYPES),
    at: f.count('at'),
    actor: f.id('actor'),
    data: f.map('data'),
  })),
  'dead-letter': kind<DeadLetter>('dead-letter', 1, (f) => ({
    actor: f.id('actor'),
    subject: f.str('subject', { max: 4096 }),
    reason: f.str('reason', { nonEmpty: true }),
    code: f.str('code', { nonEmpty: true, max: 200 }),
    headers: f.stringMap('headers'),
    payload: f.bytes('payload'),
    at: f.count('at'),
  })),
} as const;

export type MessageKind = keyof typeof Messages;
export const MessageKinds = Object.keys(Messages) as MessageKind[];

/** The TypeScript type of a kind's body. */
export type MessageOf<K extends MessageKind> = ReturnType<(typeof Messages)[K]['validate']>;

/** A decoded message: a discriminated union over kinds, narrowed by `kind`. */
export type AnyMessage<K extends MessageKind = MessageKind> = { [P in K]: { readonly kind: P; readonly value: MessageOf<P> } }[K];

export function isMessageKind(k: string): k is MessageKind {
  return Object.hasOwn(Messages, k);
}

/** Validates `value` as a `kind` body; throws `protocol.unknown-kind` or `protocol.invalid`. */
export function validate<K extends MessageKind>(kind: K, value: unknown): MessageOf<K> {
  if (!isMessageKind(kind)) {
    throw new ProtocolError(ProtocolErrorCode.UnknownKind, `unknown message kind ${JSON.stringify(String(kind).slice(0, 100))}`, {
      details: { kind: String(kind).slice(0, 100) },
    });
  }
  return Messages[kind].validate(value) as MessageOf<K>;
}
