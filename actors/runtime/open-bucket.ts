/**
 * Opens a KV bucket that ensureResources created, reading with direct gets
 * where they are as fresh as the API's.
 *
 * A plain get goes through the JetStream API, which answers in JSON with the
 * value in base64: decoding that was a visible share of a backup's main
 * thread (every batch's fragment is read that way). A direct get answers
 * with the stored message itself. But on a replicated stream any follower
 * may answer a direct get, possibly with a value older than the last write,
 * and Ferry reads back what it just wrote (fragments, job records, leases).
 * So direct gets are used only where the stream allows them and has a
 * single replica, whose answer is always the latest.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Kvm, type KV } from '@nats-io/kv';

export async function openBucket(nc: NatsConnection, bucket: string): Promise<KV> {
  const config = (await (await jetstreamManager(nc)).streams.info(`KV_${bucket}`)).config;
  const direct = config.allow_direct === true && (config.num_replicas ?? 1) === 1;
  return new Kvm(nc).open(bucket, { allow_direct: direct });
}
