/**
 * Actor host options, compiled once into a complete, validated config. The
 * delivery contract (ack wait, max deliveries) is read back from the durable
 * consumer, so resources.ts stays its only source.
 */
import type { Logger } from 'pino';
import type { NatsConnection } from '@nats-io/nats-core';
import { millis } from '@nats-io/nats-core';
import type { ConsumerInfo } from '@nats-io/jetstream';
import type { MessageKind } from '../../protocol/messages.ts';
import { assertId } from '../../protocol/subjects.ts';
import type { Handler } from './actor-context.ts';
import type { RetryPolicy } from './outcome.ts';

export interface ActorHostOptions<K extends MessageKind = MessageKind> {
  /** The connection; the host never closes or drains it (its owner does, after close()). */
  readonly nc: NatsConnection;
  /** The process's root logger; the host logs through a child bound to {actor}. */
  readonly logger: Logger;
  /** Actor name, an ID: used in logs and as the dead-letter subject's last token. */
  readonly actor: string;
  readonly stream: string;
  /** Durable pull consumer shared by every replica of this actor (default: `actor`). */
  readonly durable?: string;
  /** Message kinds the handler takes; any other valid kind is dead-lettered. */
  readonly accepts: readonly K[];
  readonly handler: Handler<K>;
  /** Messages handled at once by this process (default 4). */
  readonly concurrency?: number;
  /** How long close() lets running handlers finish before handing their messages back (default 20 s). */
  readonly graceMs?: number;
  /** Backoff for retryable failures: initialMs doubling per delivery, capped at maxMs (default 1 s, 60 s). */
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number };
  /** How long one pull waits at the server for a message (default 10 s, minimum 1 s). */
  readonly pullExpiresMs?: number;
  readonly now?: () => number;
}

export interface ActorConfig<K extends MessageKind = MessageKind> {
  readonly nc: NatsConnection;
  readonly log: Logger;
  readonly actor: string;
  readonly stream: string;
  readonly durable: string;
  readonly accepts: ReadonlySet<MessageKind>;
  readonly handler: Handler<K>;
  readonly concurrency: number;
  readonly graceMs: number;
  readonly retry: RetryPolicy;
  readonly pullExpiresMs: number;
  readonly ackWaitMs: number;
  readonly heartbeatMs: number;
  /** Largest message the server accepts; dead letters are trimmed to fit. */
  readonly maxPayload: number;
  readonly now: () => number;
}

function positiveInt(name: string, v: number, max: number): number {
  if (!Number.isSafeInteger(v) || v < 1 || v > max) throw new RangeError(`${name} must be an integer from 1 to ${max}, got ${v}`);
  return v;
}

function nonNegativeMs(name: string, v: number): number {
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a non-negative number of ms, got ${v}`);
  return v;
}

export function compileConfig<K extends MessageKind>(opts: ActorHostOptions<K>, consumer: ConsumerInfo): ActorConfig<K> {
  const actor = assertId(opts.actor, 'actor');
  if (opts.accepts.length === 0) throw new RangeError(`actor ${actor} accepts no message kinds`);
  if (consumer.config.ack_policy !== 'explicit') throw new RangeError(`consumer ${consumer.name} must use explicit acks`);
  const ackWaitMs = consumer.config.ack_wait ? millis(consumer.config.ack_wait) : 30_000;
  const initialMs = nonNegativeMs('retry.initialMs', opts.retry?.initialMs ?? 1000);
  return {
    nc: opts.nc,
    log: opts.logger.child({ actor }),
    actor,
    stream: opts.stream,
    durable: opts.durable ?? actor,
    accepts: new Set(opts.accepts),
    handler: opts.handler,
    concurrency: positiveInt('concurrency', opts.concurrency ?? 4, 1000),
    graceMs: nonNegativeMs('graceMs', opts.graceMs ?? 20_000),
    retry: {
      initialMs,
      maxMs: Math.max(initialMs, nonNegativeMs('retry.maxMs', opts.retry?.maxMs ?? 60_000)),
      maxDeliver: consumer.config.max_deliver ?? -1,
    },
    pullExpiresMs: Math.max(1000, nonNegativeMs('pullExpiresMs', opts.pullExpiresMs ?? 10_000)),
    ackWaitMs,
    heartbeatMs: Math.max(50, Math.floor(ackWaitMs / 3)),
    maxPayload: opts.nc.info?.max_payload ?? 1024 * 1024,
    now: opts.now ?? Date.now,
  };
}
