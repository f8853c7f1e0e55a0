/**
 * Job records in `ferry-jobs`, keyed `<tenant>.<jobId>` (both IDs, so `nats
 * kv get ferry-jobs acme.j1` finds one). Values are MessagePack.
 *
 * State machine: queued → running → success | warning | failed, and
 * queued → failed (rejected or cancelled before it ran). A state may "move"
 * to itself to update other fields, except that finished records are
 * immutable: re-applying exactly the same final record (a redelivered
 * message) is a no-op, anything else throws `job.bad-transition`.
 *
 * update() is a read-modify-write retried on revision conflicts, so any
 * number of coordinator replicas can update the same job safely.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import type { KV } from '@nats-io/kv';
import { openBucket } from './open-bucket.ts';
import { FerryError, ProtocolErrorCode, type WireError } from '../../protocol/errors.ts';
import { Fields } from '../../protocol/fields.ts';
import { JobType } from '../../protocol/messages.ts';
import { Buckets } from '../../protocol/resources.ts';
import { assertId } from '../../protocol/subjects.ts';
import { isWrongRevision, RuntimeError, RuntimeErrorCode } from './errors.ts';
import { packValue, unpackValue } from './kv-values.ts';

export const JobState = ['queued', 'running', 'success', 'warning', 'failed'] as const;
export type JobState = (typeof JobState)[number];

const NEXT: { readonly [S in JobState]: readonly JobState[] } = {
  queued: ['running', 'failed'],
  running: ['success', 'warning', 'failed'],
  success: [],
  warning: [],
  failed: [],
};

export function isTerminal(state: JobState): boolean {
  return NEXT[state].length === 0;
}

/** Whether a record in `from` may be written with state `to`. */
export function canTransition(from: JobState, to: JobState): boolean {
  return from === to ? !isTerminal(from) : NEXT[from].includes(to);
}

export interface JobRecord {
  jobId: string;
  tenant: string;
  type: JobType;
  state: JobState;
  createdAt: number;
  updatedAt: number;
  repoId: string;
  spec: Record<string, unknown>;
  batches?: number;
  snapshotId?: string;
  error?: WireError;
  stats: Record<string, number>;
}

/** What create() needs; state defaults to queued, times to now, stats to {}. */
export type NewJob = Omit<JobRecord, 'state' | 'createdAt' | 'updatedAt' | 'stats'> & Partial<Pick<JobRecord, 'state' | 'createdAt' | 'updatedAt' | 'stats'>>;

/** Checks a record's shape; throws `protocol.invalid` naming the field. */
function checkRecord(value: unknown): JobRecord {
  const f = new Fields('job-record', value);
  const stats = f.map('stats');
  for (const [k, v] of Object.entries(stats)) if (typeof v !== 'number' || !Number.isFinite(v)) f.fail(`stats.${k}`, 'must be a finite number');
  const rec: JobRecord = {
    jobId: f.id('jobId'),
    tenant: f.id('tenant'),
    type: f.oneOf('type', JobType),
    state: f.oneOf('state', JobState),
    createdAt: f.count('createdAt'),
    updatedAt: f.count('updatedAt'),
    repoId: f.id('repoId'),
    spec: f.map('spec'),
    stats: stats as Record<string, number>,
  };
  if (!f.absent('batches')) rec.batches = f.count('batches');
  if (!f.absent('snapshotId')) rec.snapshotId = f.str('snapshotId', { nonEmpty: true });
  if (!f.absent('error')) rec.error = f.wireError('error');
  return rec;
}

const jobKey = (tenant: string, jobId: string): string => `${assertId(tenant, 'tenant')}.${assertId(jobId, 'jobId')}`;

export class JobStore {
  readonly #kv: KV;
  readonly #now: () => number;

  constructor(kv: KV, opts: { now?: () => number } = {}) {
    this.#kv = kv;
    this.#now = opts.now ?? Date.now;
  }

  static async open(nc: NatsConnection, opts: { now?: () => number } = {}): Promise<JobStore> {
    return new JobStore(await openBucket(nc, Buckets.Jobs), opts);
  }

  /** Stores a new job (state queued unless given as failed). Throws `job.exists` if the key is taken. */
  async create(job: NewJob): Promise<JobRecord> {
    const now = this.#now();
    const rec = checkRecord({ ...job, state: job.state ?? 'queued', createdAt: job.createdAt ?? now, updatedAt: job.updatedAt ?? now, stats: job.stats ?? {} });
    if (rec.state !== 'queued' && rec.state !== 'failed') {
      throw new RuntimeError(RuntimeErrorCode.JobBadTransition, `a job starts queued or failed, not ${rec.state}`, { details: { jobId: rec.jobId, state: rec.state } });
    }
    try {
      await this.#kv.create(jobKey(rec.tenant, rec.jobId), packValue(rec));
    } catch (err) {
      if (!isWrongRevision(err)) throw err;
      throw new RuntimeError(RuntimeErrorCode.JobExists, `job ${rec.tenant}/${rec.jobId} already exists`, { cause: err, details: { tenant: rec.tenant, jobId: rec.jobId } });
    }
    return rec;
  }

  async get(tenant: string, jobId: string): Promise<JobRecord | undefined> {
    return (await this.#read(jobKey(tenant, jobId)))?.record;
  }

  /** Every job of any tenant not yet in a terminal state (queued or running). Reads each record: for occasional use. */
  async unfinished(): Promise<JobRecord[]> {
    const out: JobRecord[] = [];
    for await (const key of await this.#kv.keys()) {
      const rec = (await this.#read(key))?.record;
      if (rec && !isTerminal(rec.state)) out.push(rec);
    }
    return out;
  }

  /**
   * Applies `fn` to the current record and writes the result at the
   * revision read, retrying from a fresh read on conflict. `fn` gets a copy
   * and may run more than once. jobId, tenant and createdAt cannot change.
   */
  async update(tenant: string, jobId: string, fn: (current: JobRecord) => JobRecord | Promise<JobRecord>): Promise<JobRecord> {
    const key = jobKey(tenant, jobId);
    for (let attempt = 1; ; attempt++) {
      const cur = await this.#read(key);
      if (cur === undefined) throw new RuntimeError(RuntimeErrorCode.JobNotFound, `no job ${tenant}/${jobId}`, { details: { tenant, jobId } });
      const old = cur.record;
      const proposed = await fn(structuredClone(old));
      const next = checkRecord({ ...proposed, jobId: old.jobId, tenant: old.tenant, createdAt: old.createdAt, updatedAt: old.updatedAt });
      if (isTerminal(old.state)) {
        if (next.state === old.state && Buffer.compare(packValue(next), packValue(old)) === 0) return old;
        throw this.#badTransition(old, next.state);
      }
      if (!canTransition(old.state, next.state)) throw this.#badTransition(old, next.state);
      next.updatedAt = Math.max(this.#now(), old.updatedAt);
      try {
        await this.#kv.update(key, packValue(next), cur.revision);
        return next;
      } catch (err) {
        if (!isWrongRevision(err) || attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
      }
    }
  }

  /**
   * Jobs newest first (by createdAt), of one tenant or all. Reads every
   * matching record: meant for consoles and CLIs, not hot paths.
   */
  async list(opts: { tenant?: string; limit?: number } = {}): Promise<JobRecord[]> {
    const keys: string[] = [];
    for await (const k of await this.#kv.keys(opts.tenant === undefined ? '>' : `${assertId(opts.tenant, 'tenant')}.*`)) keys.push(k);
    const out: JobRecord[] = [];
    for (let i = 0; i < keys.length; i += 64) {
      const batch = await Promise.all(keys.slice(i, i + 64).map((k) => this.#read(k)));
      for (const r of batch) if (r !== undefined) out.push(r.record);
    }
    out.sort((a, b) => b.createdAt - a.createdAt || (a.jobId < b.jobId ? 1 : a.jobId > b.jobId ? -1 : 0));
    return opts.limit === undefined ? out : out.slice(0, opts.limit);
  }

  async #read(key: string): Promise<{ record: JobRecord; revision: number } | undefined> {
    const e = await this.#kv.get(key);
    if (e === null || e.operation !== 'PUT') return undefined;
    try {
      return { record: checkRecord(unpackValue(e.value, `job ${key}`)), revision: e.revision };
    } catch (err) {
      if (err instanceof FerryError && err.code === ProtocolErrorCode.Invalid) {
        throw new RuntimeError(RuntimeErrorCode.KvCorrupt, `job ${key} is not a valid job record: ${err.message}`, { cause: err, details: { key } });
      }
      throw err;
    }
  }

  #badTransition(old: JobRecord, to: JobState): RuntimeError {
    return new RuntimeError(RuntimeErrorCode.JobBadTransition, `job ${old.tenant}/${old.jobId} cannot go from ${old.state} to ${to}`, {
      details: { tenant: old.tenant, jobId: old.jobId, from: old.state, to },
    });
  }
}
