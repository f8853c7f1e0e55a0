/**
 * Every JetStream stream, durable consumer and KV bucket Ferry uses, in one
 * place, with names chosen to read well in `nats stream ls`, `nats consumer
 * ls` and `nats kv ls`.
 *
 * ensureResources() makes the server match these specs. It is idempotent and
 * safe to run from several processes at once: every "already exists" race
 * resolves by re-reading and reconciling. Fields the server cannot change in
 * place (retention, storage, a 2.9 consumer's filter) raise
 * `protocol.resource-conflict` instead of being silently ignored.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { nanos } from '@nats-io/nats-core';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { FerryError, ProtocolError, ProtocolErrorCode } from './errors.ts';
import { filters, type WorkTask } from './subjects.ts';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** Largest message body any stream or bucket accepts (the server's max_payload must allow it). */
export const MAX_MSG_SIZE = 8 * 1024 * 1024;

export const Streams = {
  Jobs: 'FERRY_JOBS',
  Work: 'FERRY_WORK',
  Events: 'FERRY_EVENTS',
  Dlq: 'FERRY_DLQ',
} as const;
export type StreamName = (typeof Streams)[keyof typeof Streams];

export const Durables = {
  Coordinator: 'coordinator',
  Scanner: 'scanner',
  Uploader: 'uploader',
  Finalizer: 'finalizer',
  Restorer: 'restorer',
  Verifier: 'verifier',
  Site: 'site',
  Retention: 'retention',
  Sync: 'sync',
} as const;
export type DurableName = (typeof Durables)[keyof typeof Durables];

/** The durable that drains each work queue. */
export const WorkDurable: { readonly [T in WorkTask]: DurableName } = {
  scan: Durables.Scanner,
  upload: Durables.Uploader,
  finalize: Durables.Finalizer,
  restore: Durables.Restorer,
  verify: Durables.Verifier,
  site: Durables.Site,
  retention: Durables.Retention,
  sync: Durables.Sync,
};

export const Buckets = {
  Jobs: 'ferry-jobs',
  Checkpoints: 'ferry-checkpoints',
  Leases: 'ferry-leases',
  Fragments: 'ferry-fragments',
  Schedules: 'ferry-schedules',
  Sites: 'ferry-sites',
  Retention: 'ferry-retention',
  Sync: 'ferry-sync',
} as const;
export type BucketName = (typeof Buckets)[keyof typeof Buckets];

/** Delivery contract shared by every durable; the actor host reads these back from the consumer. */
export const ConsumerDefaults = {
  // A crashed worker's messages come back after this; live handlers heartbeat every third of it.
  ackWaitMs: 20 * 1000,
  maxDeliver: 20,
} as const;

export interface StreamSpec {
  readonly name: StreamName;
  readonly description: string;
  readonly subjects: readonly string[];
  readonly retention: 'workqueue' | 'limits';
  /** 0 = keep until consumed / forever. */
  readonly maxAgeMs: number;
  readonly duplicateWindowMs?: number;
}

export interface ConsumerSpec {
  readonly stream: StreamName;
  readonly durable: DurableName;
  readonly description: string;
  readonly filter: string;
}

export interface BucketSpec {
  readonly bucket: BucketName;
  readonly description: string;
  readonly history: number;
  /** 0 = no expiry. Nothing here relies on per-key TTL (not in nats-server 2.9). */
  readonly maxAgeMs: number;
}

export const streamSpecs: readonly StreamSpec[] = [
  { name: Streams.Jobs, description: 'Messages to the coordinator', subjects: ['ferry.jobs.>'], retention: 'workqueue', maxAgeMs: 0 },
  {
    name: Streams.Work,
    description: 'Work queues for scanner, uploader, finalizer, restorer, verifier, site',
    subjects: ['ferry.work.>'],
    retention: 'workqueue',
    maxAgeMs: 0,
    // Long enough to cover a coordinator restart re-publishing a step.
    duplicateWindowMs: 10 * MINUTE,
  },
  { name: Streams.Events, description: 'Job state, progress and step events', subjects: ['ferry.events.>'], retention: 'limits', maxAgeMs: 7 * DAY },
  { name: Streams.Dlq, description: 'Dead letters with reason and original bytes', subjects: ['ferry.dlq.>'], retention: 'limits', maxAgeMs: 30 * DAY },
];

const work = (task: WorkTask, what: string): ConsumerSpec => ({
  stream: Streams.Work,
  durable: WorkDurable[task],
  description: what,
  filter: filters.work(task),
});

export const consumerSpecs: readonly ConsumerSpec[] = [
  { stream: Streams.Jobs, durable: Durables.Coordinator, description: 'Coordinator inbox', filter: 'ferry.jobs.>' },
  work('scan', 'Scan work'),
  work('upload', 'Upload batches'),
  work('finalize', 'Snapshot finalization'),
  work('restore', 'Restores'),
  work('verify', 'Repository verification'),
  work('site', 'Site jobs: preflight checks and pulls over SSH'),
  work('retention', 'Retention: forget by policy, then prune'),
  work('sync', 'Copies of the repository to a second one'),
];

export const bucketSpecs: readonly BucketSpec[] = [
  { bucket: Buckets.Jobs, description: 'Job records, key <tenant>.<jobId>', history: 5, maxAgeMs: 0 },
  { bucket: Buckets.Checkpoints, description: 'Actor resume points', history: 1, maxAgeMs: 0 },
  // Leases carry their own expiry; the bucket age only sweeps abandoned keys,
  // so lease TTLs must stay well under a day.
  { bucket: Buckets.Leases, description: 'Singleton and per-site leases', history: 1, maxAgeMs: DAY },
  { bucket: Buckets.Fragments, description: 'Transient job fragments', history: 1, maxAgeMs: 14 * DAY },
  { bucket: Buckets.Schedules, description: 'Backup schedules', history: 1, maxAgeMs: 0 },
  { bucket: Buckets.Sites, description: 'Pull sites and their targets, key <tenant>.s.<site uuid>; names <tenant>.n.<name>', history: 5, maxAgeMs: 0 },
  { bucket: Buckets.Retention, description: 'Retention policies, key <tenant>.<source>', history: 5, maxAgeMs: 0 },
  { bucket: Buckets.Sync, description: 'Sync state per copy, key <tenant>.<repo id>.<destination hash>', history: 5, maxAgeMs: 0 },
];

export interface ResourceOptions {
  /** 1 on a single server, 3 on a cluster. Applied to every stream and bucket. */
  readonly replicas?: number;
  /** How long to wait out a temporarily unavailable JetStream (default 30 s). */
  readonly waitMs?: number;
}

function streamConfig(s: StreamSpec, replicas: number): Partial<StreamConfig> & { name: string } {
  return {
    name: s.name,
    description: s.description,
    subjects: [...s.subjects],
    retention: s.retention === 'workqueue' ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(s.maxAgeMs),
    max_msg_size: MAX_MSG_SIZE,
    num_replicas: replicas,
    ...(s.duplicateWindowMs === undefined ? {} : { duplicate_window: nanos(s.duplicateWindowMs) }),
  };
}

function consumerConfig(c: ConsumerSpec): Partial<ConsumerConfig> {
  return {
    durable_name: c.durable,
    description: c.description,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(ConsumerDefaults.ackWaitMs),
    max_deliver: ConsumerDefaults.maxDeliver,
    deliver_policy: DeliverPolicy.All,
    filter_subject: c.filter,
  };
}

/** Fields of `want` that differ from `have` (shallow; arrays compared by content). */
function differing(want: Record<string, unknown>, have: Record<string, unknown>): string[] {
  return Object.keys(want).filter((k) => JSON.stringify(want[k] ?? null) !== JSON.stringify(have[k] ?? null));
}

function conflict(what: string, fields: string[], cause?: unknown): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.ResourceConflict, `${what} exists with a different ${fields.join(', ')} that cannot be changed in place`, {
    details: { resource: what, fields: fields.join(',') },
    cause,
  });
}

const isNotFound = (err: unknown): boolean => err instanceof Error && /not found/i.test(err.message);

async function ensureStream(jsm: JetStreamManager, spec: StreamSpec, replicas: number): Promise<void> {
  let want = streamConfig(spec, replicas);
  let have: StreamConfig;
  try {
    have = (await jsm.streams.info(spec.name)).config;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await jsm.streams.add(want);
      return;
    } catch (addErr) {
      // Lost a creation race; fall through and reconcile with the winner's stream.
      have = (await jsm.streams.info(spec.name).catch(() => Promise.reject(addErr))).config;
    }
  }
  // Replicas are a floor, never lowered: a client that was not told the cluster's R3 must not strip its fault tolerance.
  want = { ...want, num_replicas: Math.max(replicas, have.num_replicas ?? 1) };
  const diff = differing(want, have as unknown as Record<string, unknown>);
  if (diff.length === 0) return;
  const fixed = diff.filter((f) => f === 'retention' || f === 'storage');
  if (fixed.length > 0) throw conflict(`stream ${spec.name}`, fixed);
  await jsm.streams.update(spec.name, want);
}

async function ensureConsumer(jsm: JetStreamManager, spec: ConsumerSpec): Promise<void> {
  const want = consumerConfig(spec);
  let have: ConsumerConfig;
  try {
    have = (await jsm.consumers.info(spec.stream, spec.durable)).config;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await jsm.consumers.add(spec.stream, want);
      return;
    } catch (addErr) {
      have = (await jsm.consumers.info(spec.stream, spec.durable).catch(() => Promise.reject(addErr))).config;
    }
  }
  const diff = differing(want, have as unknown as Record<string, unknown>);
  if (diff.length === 0) return;
  const fixed = diff.filter((f) => f === 'filter_subject' || f === 'deliver_policy' || f === 'ack_policy' || f === 'durable_name');
  if (fixed.length > 0) throw conflict(`consumer ${spec.stream}/${spec.durable}`, fixed);
  const { durable_name: _name, deliver_policy: _dp, ack_policy: _ap, filter_subject: _fs, ...mutable } = want;
  await jsm.consumers.update(spec.stream, spec.durable, mutable);
}

async function ensureBucket(nc: NatsConnection, jsm: JetStreamManager, spec: BucketSpec, replicas: number): Promise<void> {
  const opts = { description: spec.description, history: spec.history, replicas, ttl: spec.maxAgeMs, storage: StorageType.File, maxValueSize: MAX_MSG_SIZE };
  // Kvm.create opens an existing bucket without touching its configuration,
  // so limits are reconciled on the backing stream afterwards.
  await new Kvm(nc).create(spec.bucket, opts).catch(async (err: unknown) => {
    // A concurrent creator won; the bucket exists, which is all we need here.
    await jsm.streams.info(`KV_${spec.bucket}`).catch(() => Promise.reject(err));
  });
  const stream = `KV_${spec.bucket}`;
  const have = (await jsm.streams.info(stream)).config;
  const want = {
    description: spec.description,
    max_msgs_per_subject: spec.history,
    max_age: nanos(spec.maxAgeMs),
    num_replicas: Math.max(replicas, have.num_replicas ?? 1),
    max_msg_size: MAX_MSG_SIZE,
  };
  if (differing(want, have as unknown as Record<string, unknown>).length > 0) await jsm.streams.update(stream, want);
}

/**
 * Creates or updates every stream, consumer and bucket. Streams come first
 * because consumers live on them; buckets are independent.
 */
export async function ensureResources(nc: NatsConnection, opts: ResourceOptions = {}): Promise<void> {
  const replicas = opts.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) {
    throw new RangeError(`replicas must be an integer from 1 to 5, got ${replicas}`);
  }
  // Every step is idempotent, so a JetStream that is briefly unavailable (a cluster electing leaders
  // after losing a node, a server restarting) is simply waited out, up to a deadline.
  const deadline = Date.now() + (opts.waitMs ?? 30_000);
  for (let delay = 250; ; delay = Math.min(delay * 2, 4000)) {
    try {
      const jsm = await jetstreamManager(nc);
      await Promise.all(streamSpecs.map((s) => ensureStream(jsm, s, replicas)));
      await Promise.all([
        ...consumerSpecs.map((c) => ensureConsumer(jsm, c)),
        ...bucketSpecs.map((b) => ensureBucket(nc, jsm, b, replicas)),
      ]);
      return;
    } catch (err) {
      if (!isTransient(err)) throw err;
      if (Date.now() + delay > deadline) {
        throw new FerryError(ProtocolErrorCode.Unavailable, `JetStream stayed unavailable for ${Math.round((opts.waitMs ?? 30_000) / 1000)} s while Ferry set up its streams; check the NATS servers and try again`, { retryable: true, cause: err });
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** Errors a retry can cure: timeouts, no responders, "JetStream system temporarily unavailable" (10008). */
function isTransient(err: unknown): boolean {
  const e = err as { name?: string; message?: string; code?: unknown; api_error?: { err_code?: number } };
  if (e?.name === 'TimeoutError' || e?.name === 'NoRespondersError') return true;
  if (e?.api_error?.err_code === 10008) return true;
  return /timeout|temporarily unavailable|no responders|\b503\b/i.test(String(e?.message ?? ''));
}
