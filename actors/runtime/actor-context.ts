/**
 * What a handler sees: one context object per message (Temporal-style) and
 * the decoded message. Handlers depend on these types only, never on the
 * host, so a handler can be driven by a test without NATS.
 */
import type { Logger } from 'pino';
import type { KV } from '@nats-io/kv';
import type { PubAck } from '@nats-io/jetstream';
import type { MessageKind, MessageOf } from '../../protocol/messages.ts';
import type { BucketName } from '../../protocol/resources.ts';
import type { Outcome } from './outcome.ts';
import type { PublishOptions } from './publisher.ts';

export interface ActorContext {
  /** Child of the actor's logger with {actor, tenant, job} bound. */
  readonly log: Logger;
  /**
   * Aborted when the host gives up on this handler: shutdown's grace period
   * ran out. The message has then already been handed back (nak 0); stop
   * soon and leave a checkpoint behind.
   */
  readonly signal: AbortSignal;
  /**
   * Tells the server the message is still being worked on (resets its ack
   * wait). The host also does this every ackWait/3 while the handler runs;
   * call it yourself from loops that may starve the event loop. Cheap to call
   * per item: at most one signal goes out per second (or per ackWait/3 if shorter).
   */
  heartbeat(): void;
  /** Publishes a typed message to JetStream and awaits the PubAck. */
  publish<K extends MessageKind>(subject: string, kind: K, value: MessageOf<K>, opts?: PublishOptions): Promise<PubAck>;
  /** Opens (and caches) one of Ferry's KV buckets. */
  kv(bucket: BucketName): Promise<KV>;
}

/** A decoded, validated message with its delivery metadata; narrowed by `kind`. */
export type ActorMessage<K extends MessageKind = MessageKind> = {
  [P in K]: {
    readonly kind: P;
    readonly value: MessageOf<P>;
    readonly subject: string;
    /** Stream sequence: stable across redeliveries, a natural idempotency key. */
    readonly seq: number;
    readonly redelivered: boolean;
    /** 1 on first delivery. */
    readonly deliveryCount: number;
  };
}[K];

/**
 * Handles one message. Resolve with nothing (or `{ ack: true }`) when done.
 * Throw a FerryError to fail: retryable errors are retried with backoff,
 * others are dead-lettered. See outcome.ts for the full rules.
 */
export type Handler<K extends MessageKind = MessageKind> = (ctx: ActorContext, msg: ActorMessage<K>) => Promise<Outcome | void>;
