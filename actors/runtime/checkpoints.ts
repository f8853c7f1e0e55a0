/**
 * Checkpoints in `ferry-checkpoints`: where an actor resumes after a crash
 * or redelivery. Values are MessagePack; every save names the revision it
 * expects to replace, so two workers that both think they own a piece of
 * work cannot silently overwrite each other: the slower one gets
 * `checkpoint.conflict` (retryable: reload and carry on from the winner's
 * point, or let the message be redelivered).
 */
import type { NatsConnection } from '@nats-io/nats-core';
import type { KV } from '@nats-io/kv';
import { openBucket } from './open-bucket.ts';
import { Buckets } from '../../protocol/resources.ts';
import { isWrongRevision, RuntimeError, RuntimeErrorCode } from './errors.ts';
import { packValue, unpackValue } from './kv-values.ts';

export interface Checkpoint<T> {
  readonly value: T;
  /** Pass back to save() as expectedRevision. */
  readonly revision: number;
}

export class CheckpointStore {
  readonly #kv: KV;

  constructor(kv: KV) {
    this.#kv = kv;
  }

  static async open(nc: NatsConnection): Promise<CheckpointStore> {
    return new CheckpointStore(await openBucket(nc, Buckets.Checkpoints));
  }

  /**
   * The checkpoint under `key`, or undefined if there is none (or it was
   * removed). `parse` validates the stored shape; without it the value is
   * trusted to be a T.
   */
  async load<T = unknown>(key: string, parse?: (value: unknown) => T): Promise<Checkpoint<T> | undefined> {
    const e = await this.#kv.get(key);
    if (e === null || e.operation !== 'PUT') return undefined;
    const raw = unpackValue(e.value, `checkpoint ${key}`);
    return { value: parse ? parse(raw) : (raw as T), revision: e.revision };
  }

  /**
   * Writes `value` if the checkpoint is still at `expectedRevision`
   * (undefined or 0: there must be no checkpoint yet). Returns the new
   * revision; throws `checkpoint.conflict` if someone else wrote first.
   */
  async save(key: string, value: unknown, expectedRevision: number | undefined): Promise<number> {
    const data = packValue(value);
    try {
      return expectedRevision === undefined || expectedRevision === 0 ? await this.#kv.create(key, data) : await this.#kv.update(key, data, expectedRevision);
    } catch (err) {
      if (!isWrongRevision(err)) throw err;
      throw new RuntimeError(RuntimeErrorCode.CheckpointConflict, `checkpoint ${key} changed since revision ${expectedRevision ?? 'none'}`, {
        retryable: true,
        cause: err,
        details: { key, expectedRevision: expectedRevision ?? null },
      });
    }
  }

  /** Removes the checkpoint (at `expectedRevision` if given); removing a missing one is a no-op. */
  async remove(key: string, expectedRevision?: number): Promise<void> {
    try {
      await this.#kv.delete(key, expectedRevision === undefined ? undefined : { previousSeq: expectedRevision });
    } catch (err) {
      if (!isWrongRevision(err)) throw err;
      throw new RuntimeError(RuntimeErrorCode.CheckpointConflict, `checkpoint ${key} changed since revision ${expectedRevision}`, {
        retryable: true,
        cause: err,
        details: { key, expectedRevision: expectedRevision ?? null },
      });
    }
  }
}
