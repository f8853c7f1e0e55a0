/**
 * Ferry's subjects: builders, filters and a parser.
 *
 * Every message Ferry sends lives in one of four subject families, each
 * captured by one stream (see resources.ts). Every token we interpolate is an
 * ID matching /^[A-Za-z0-9_-]{1,64}$/ (no dots, no wildcards, nothing that can
 * escape a path), checked here; a bad one throws `protocol.bad-id`.
 *
 * | Subject                                | Stream       | Consumer (durable)          | Message kinds (messages.ts)          |
 * |----------------------------------------|--------------|-----------------------------|--------------------------------------|
 * | ferry.jobs.<tenant>.submit             | FERRY_JOBS   | coordinator                 | job.submit/1                         |
 * | ferry.jobs.<tenant>.scan-done          | FERRY_JOBS   | coordinator                 | job.scan-done/1                      |
 * | ferry.jobs.<tenant>.finalized          | FERRY_JOBS   | coordinator                 | job.finalized/1                      |
 * | ferry.jobs.<tenant>.failed             | FERRY_JOBS   | coordinator                 | job.failed/1                         |
 * | ferry.jobs.<tenant>.cancel             | FERRY_JOBS   | coordinator                 | job.cancel/1                         |
 * | ferry.work.<tenant>.scan.<jobId>       | FERRY_WORK   | scanner                     | work.scan/1                          |
 * | ferry.work.<tenant>.upload.<jobId>     | FERRY_WORK   | uploader                    | work.upload/1, work.upload-file/1    |
 * | ferry.work.<tenant>.finalize.<jobId>   | FERRY_WORK   | finalizer                   | work.finalize/1                      |
 * | ferry.work.<tenant>.restore.<jobId>    | FERRY_WORK   | restorer                    | work.restore/1                       |
 * | ferry.work.<tenant>.verify.<jobId>     | FERRY_WORK   | verifier                    | work.verify/1                        |
 * | ferry.events.<tenant>.<jobId>.state    | FERRY_EVENTS | ordered, per reader         | event/1 (type 'state')               |
 * | ferry.events.<tenant>.<jobId>.progress | FERRY_EVENTS | ordered, per reader         | event/1 (type 'progress')            |
 * | ferry.events.<tenant>.<jobId>.step     | FERRY_EVENTS | ordered, per reader         | event/1 (type 'step')                |
 * | ferry.dlq.<tenant>.<actor>             | FERRY_DLQ    | none (inspected with nats)  | dead-letter/1                        |
 *
 * The tenant is the second token everywhere, so an account export or a user
 * permission of `ferry.*.<tenant>.>` confines an edge agent to its own
 * tenant. Dead letters whose tenant could not be read use the tenant `_`.
 *
 * Every message carries two headers: `Content-Type: application/msgpack`
 * and `Ferry-Type: <kind>/<version>` (e.g. `job.submit/1`), so
 * `nats stream view` shows what each message is without decoding it. The
 * body is one MessagePack map (msgpackr, no records extension) that the
 * kind's validator in messages.ts accepts. A message that fails to decode or
 * validate is never retried: the actor host publishes a `dead-letter/1` to
 * `ferry.dlq.<tenant>.<actor>` carrying the reason, the error code, the
 * original headers and bytes, then terminates the original.
 *
 * Message kinds (all fields required unless marked ?; times are ms since the
 * epoch; counts, sequence numbers and times are non-negative safe integers):
 * - job.submit/1: { jobId, tenant, type: backup|restore|verify|scan, repoId, spec: map, requestedAt }
 * - job.scan-done/1: { jobId, tenant, batches, files, bytes, errors }
 * - job.finalized/1: { jobId, tenant, snapshotId?, status: success|warning|failed, summary: map }
 * - job.failed/1: { jobId, tenant, error: { code, message, retryable, details } }
 * - job.cancel/1: { jobId, tenant }
 * - work.scan/1: { jobId, tenant, repoId, source, host, paths: string[], parentSnapshot?, tags: string[] }
 * - work.upload/1: { jobId, tenant, repoId, seq, startPos: string[], endPos: string[], events: array }
 * - work.upload-file/1: { jobId, tenant, repoId, events: array of one file to read } (a file sent ahead of its batch)
 * - work.finalize/1: { jobId, tenant, repoId, batches }
 * - work.restore/1: { jobId, tenant, repoId, snapshot, path: string[], target, contentOnly: bool }
 * - work.verify/1: { jobId, tenant, repoId, readData: bool }
 * - event/1: { jobId, tenant, type: state|progress|step, at, actor, data: map }
 * - dead-letter/1: { actor, subject, reason, code, headers: map of string, payload: bin, at }
 *
 * Work messages are published with a `Nats-Msg-Id` (FERRY_WORK has a 10 min
 * duplicate window) so a coordinator that re-runs a step after a crash does
 * not enqueue the same batch twice.
 */
import { ProtocolError, ProtocolErrorCode } from './errors.ts';

export const SUBJECT_ROOT = 'ferry';

/** Messages addressed to the coordinator. */
export const JobSubjectKind = ['submit', 'scan-done', 'finalized', 'failed', 'cancel'] as const;
export type JobSubjectKind = (typeof JobSubjectKind)[number];

/** Work queues; one durable consumer each. */
export const WorkTask = ['scan', 'upload', 'finalize', 'restore', 'verify', 'site', 'retention', 'sync'] as const;
export type WorkTask = (typeof WorkTask)[number];

export const EventType = ['state', 'progress', 'step'] as const;
export type EventType = (typeof EventType)[number];

/** Tenant token used on dead letters whose tenant could not be determined. */
export const UNKNOWN_TENANT = '_';

export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

/** Returns `value` if it is a valid ID; throws `protocol.bad-id` naming `what` otherwise. */
export function assertId(value: unknown, what: string): string {
  if (isId(value)) return value;
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
  throw new ProtocolError(ProtocolErrorCode.BadId, `${what} must match ${ID_PATTERN.source}, got ${shown}`, { details: { field: what } });
}

function oneOf<T extends string>(values: readonly T[], value: string, what: string): T {
  if ((values as readonly string[]).includes(value)) return value as T;
  throw new ProtocolError(ProtocolErrorCode.BadSubject, `${what} must be one of ${values.join(', ')}, got ${JSON.stringify(value)}`, {
    details: { field: what },
  });
}

/** Subject builders. Each validates its IDs. */
export const subjects = {
  job(tenant: string, kind: JobSubjectKind): string {
    return `${SUBJECT_ROOT}.jobs.${assertId(tenant, 'tenant')}.${oneOf(JobSubjectKind, kind, 'job subject kind')}`;
  },
  work(tenant: string, task: WorkTask, jobId: string): string {
    return `${SUBJECT_ROOT}.work.${assertId(tenant, 'tenant')}.${oneOf(WorkTask, task, 'task')}.${assertId(jobId, 'jobId')}`;
  },
  event(tenant: string, jobId: string, type: EventType): string {
    return `${SUBJECT_ROOT}.events.${assertId(tenant, 'tenant')}.${assertId(jobId, 'jobId')}.${oneOf(EventType, type, 'event type')}`;
  },
  /** `tenant` undefined means "unknown" and becomes `_`. */
  dlq(tenant: string | undefined, actor: string): string {
    return `${SUBJECT_ROOT}.dlq.${tenant === undefined ? UNKNOWN_TENANT : assertId(tenant, 'tenant')}.${assertId(actor, 'actor')}`;
  },
} as const;

/** Wildcard filters for consumers and subscriptions. Omitted parts match anything. */
export const filters = {
  jobs(tenant?: string): string {
    return `${SUBJECT_ROOT}.jobs.${tenant === undefined ? '*' : assertId(tenant, 'tenant')}.*`;
  },
  work(task?: WorkTask, tenant?: string): string {
    const t = tenant === undefined ? '*' : assertId(tenant, 'tenant');
    return `${SUBJECT_ROOT}.work.${t}.${task === undefined ? '*' : oneOf(WorkTask, task, 'task')}.*`;
  },
  events(opts: { tenant?: string; jobId?: string; type?: EventType } = {}): string {
    const t = opts.tenant === undefined ? '*' : assertId(opts.tenant, 'tenant');
    const j = opts.jobId === undefined ? '*' : assertId(opts.jobId, 'jobId');
    const e = opts.type === undefined ? '*' : oneOf(EventType, opts.type, 'event type');
    return `${SUBJECT_ROOT}.events.${t}.${j}.${e}`;
  },
  dlq(tenant?: string): string {
    return `${SUBJECT_ROOT}.dlq.${tenant === undefined ? '*' : tenant === UNKNOWN_TENANT ? UNKNOWN_TENANT : assertId(tenant, 'tenant')}.*`;
  },
} as const;

export type ParsedSubject =
  | { readonly family: 'jobs'; readonly tenant: string; readonly kind: JobSubjectKind }
  | { readonly family: 'work'; readonly tenant: string; readonly task: WorkTask; readonly jobId: string }
  | { readonly family: 'events'; readonly tenant: string; readonly jobId: string; readonly type: EventType }
  | { readonly family: 'dlq'; readonly tenant: string | undefined; readonly actor: string };

/**
 * Parses one of Ferry's concrete subjects (no wildcards). Throws
 * `protocol.bad-subject` for anything else and `protocol.bad-id` for a
 * malformed ID token.
 */
export function parseSubject(subject: string): ParsedSubject {
  const t = subject.split('.');
  const bad = (why: string): never => {
    throw new ProtocolError(ProtocolErrorCode.BadSubject, `not a Ferry subject (${why}): ${JSON.stringify(subject.slice(0, 200))}`);
  };
  if (t[0] !== SUBJECT_ROOT) bad('root');
  const [, family, a, b, c] = t;
  switch (family) {
    case 'jobs':
      if (t.length !== 4 || a === undefined || b === undefined) return bad('shape');
      return { family, tenant: assertId(a, 'tenant'), kind: oneOf(JobSubjectKind, b, 'job subject kind') };
    case 'work':
      if (t.length !== 5 || a === undefined || b === undefined || c === undefined) return bad('shape');
      return { family, tenant: assertId(a, 'tenant'), task: oneOf(WorkTask, b, 'task'), jobId: assertId(c, 'jobId') };
    case 'events':
      if (t.length !== 5 || a === undefined || b === undefined || c === undefined) return bad('shape');
      return { family, tenant: assertId(a, 'tenant'), jobId: assertId(b, 'jobId'), type: oneOf(EventType, c, 'event type') };
    case 'dlq':
      if (t.length !== 4 || a === undefined || b === undefined) return bad('shape');
      return { family, tenant: a === UNKNOWN_TENANT ? undefined : assertId(a, 'tenant'), actor: assertId(b, 'actor') };
    default:
      return bad('family');
  }
}

/**
 * The tenant token of any Ferry subject, or undefined when the subject is not
 * one of ours or its tenant is malformed. Never throws: used on the
 * dead-letter path, where the input is untrusted by definition.
 */
export function tenantOfSubject(subject: string): string | undefined {
  const t = subject.split('.');
  if (t[0] !== SUBJECT_ROOT) return undefined;
  const tenant = t[2];
  return tenant !== UNKNOWN_TENANT && isId(tenant) ? tenant : undefined;
}
