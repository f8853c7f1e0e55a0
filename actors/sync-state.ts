/**
 * The state of each copy of a repository (`sync_state`, seed 001): in the
 * `ferry-sync` bucket, key `<tenant>.<repo id>.<destination hash>` (16 hex
 * digits of SHA-256 of the destination's location), a JSON value
 * `{to, lastAttemptAt, lastSuccessAt?, lagSeconds, copied, error?}`.
 * `lagSeconds` is how far the copy is behind: the age, at the end of the
 * run, of the newest source snapshot the copy lacks (0 when it lacks none).
 */
import { createHash } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import { assertId } from '../protocol/subjects.ts';
import type { Repository } from '../services/repo/repository.ts';
import type { Storage } from '../services/storage/storage.ts';
import { syncLagSeconds } from '../services/repo/sync-lag.ts';

export interface SyncState {
  /** The destination's location, as given (never credentials: s3:// URLs carry none). */
  readonly to: string;
  readonly lastAttemptAt: number;
  readonly lastSuccessAt?: number | undefined;
  readonly lagSeconds: number;
  /** Objects the last run copied. */
  readonly copied: number;
  readonly error?: { readonly code: string; readonly message: string } | undefined;
}

const hashOf = (to: string) => createHash('sha256').update(to).digest('hex').slice(0, 16);
const keyOf = (tenant: string, repoId: string, to: string) => `${assertId(tenant, 'tenant')}.${assertId(repoId, 'repo id')}.${hashOf(to)}`;

export class SyncStateStore {
  readonly #kv: KV;

  constructor(kv: KV) {
    this.#kv = kv;
  }

  async get(tenant: string, repoId: string, to: string): Promise<SyncState | undefined> {
    const e = await this.#kv.get(keyOf(tenant, repoId, to));
    return e && e.operation === 'PUT' ? (JSON.parse(e.string()) as SyncState) : undefined;
  }

  /** Records a run's outcome; a failed run keeps the last success it follows. */
  async record(tenant: string, repoId: string, run: Omit<SyncState, 'lastSuccessAt'> & { succeeded: boolean }): Promise<SyncState> {
    const before = await this.get(tenant, repoId, run.to);
    const { succeeded, ...rest } = run;
    const state: SyncState = { ...rest, lastSuccessAt: succeeded ? run.lastAttemptAt : before?.lastSuccessAt };
    await this.#kv.put(keyOf(tenant, repoId, run.to), JSON.stringify(state));
    return state;
  }

  /** Every copy's state for `tenant`. */
  async list(tenant: string): Promise<SyncState[]> {
    const out: SyncState[] = [];
    for await (const key of await this.#kv.keys(`${assertId(tenant, 'tenant')}.>`)) {
      const e = await this.#kv.get(key);
      if (e && e.operation === 'PUT') out.push(JSON.parse(e.string()) as SyncState);
    }
    return out.sort((a, b) => a.to.localeCompare(b.to));
  }
}

/**
 * Records a finished sync run of `repo` to `destination` (at `to`): its
 * lag (-1 when the copy could not even be listed), the objects copied, and
 * the failure's code and message if it failed. Used by the sync job and by
 * `ferry sync`, so both keep the same state.
 */
export async function recordSyncRun(
  states: SyncStateStore,
  run: { tenant: string; repo: Repository; destination: Storage; to: string; startedAt: number; copied: number; failure?: unknown },
): Promise<SyncState> {
  const lagSeconds = await syncLagSeconds(run.repo, run.destination).catch(() => -1);
  const f = run.failure as { code?: string; message?: string } | undefined;
  const error = run.failure === undefined ? undefined : { code: f?.code ?? 'sync.failed', message: f?.message ?? String(run.failure) };
  return states.record(run.tenant, run.repo.config.id, { to: run.to, lastAttemptAt: run.startedAt, lagSeconds, copied: run.copied, error, succeeded: run.failure === undefined });
}
