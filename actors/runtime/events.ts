/**
 * Job events on FERRY_EVENTS (`ferry.events.<tenant>.<jobId>.<type>`):
 * publishing one, and following them live.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { DeliverPolicy, jetstream, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import { decode } from '../../protocol/codec.ts';
import type { JobEvent } from '../../protocol/messages.ts';
import { Streams } from '../../protocol/resources.ts';
import { filters, subjects, type EventType } from '../../protocol/subjects.ts';
import { createPublisher, type Publisher } from './publisher.ts';

/** An ActorContext (or any Publisher), or a bare JetStream client. */
export type EventSink = Publisher | JetStreamClient;

const isJetStreamClient = (t: EventSink): t is JetStreamClient => 'consumers' in t;

/** Publishes `event` on its subject and awaits the PubAck. */
export function publishEvent(target: EventSink, event: JobEvent): Promise<PubAck> {
  const publisher = isJetStreamClient(target) ? createPublisher(target) : target;
  return publisher.publish(subjects.event(event.tenant, event.jobId, event.type), 'event', event);
}

export interface FollowOptions {
  readonly tenant?: string;
  readonly jobId?: string;
  readonly type?: EventType;
  /**
   * Replay everything the stream still holds (7 days) before following.
   * Otherwise follow from the moment followEvents() was called (by the
   * server's clock, give or take clock skew), not from when iteration starts.
   */
  readonly fromStart?: boolean;
  /** Ends the iteration when aborted. */
  readonly signal?: AbortSignal;
}

/**
 * Events matching the filter, in stream order, through an ordered consumer
 * (no durable state on the server; it recreates itself after a reconnect
 * and resumes where it was). Messages that do not decode as events are
 * skipped. Ends when the signal aborts or the caller breaks out.
 */
export function followEvents(nc: NatsConnection, opts: FollowOptions = {}): AsyncIterable<JobEvent> {
  const filter = filters.events(opts);
  const since = new Date().toISOString();
  return {
    async *[Symbol.asyncIterator]() {
      if (opts.signal?.aborted) return;
      const consumer = await jetstream(nc).consumers.get(Streams.Events, {
        filter_subjects: filter,
        ...(opts.fromStart ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: since }),
      });
      const messages = await consumer.consume();
      const stop = (): void => void messages.close();
      opts.signal?.addEventListener('abort', stop, { once: true });
      try {
        for await (const m of messages) {
          let decoded;
          try {
            decoded = decode(m.data, m.headers);
          } catch {
            continue;
          }
          if (decoded.kind === 'event') yield decoded.value;
        }
      } finally {
        opts.signal?.removeEventListener('abort', stop);
        await messages.close();
      }
    },
  };
}
