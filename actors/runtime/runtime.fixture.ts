/**
 * Test support for the runtime: a private nats-server with Ferry's resources,
 * a quiet logger, and helpers to read streams back.
 */
import pino, { type Logger } from 'pino';
import { connect } from '@nats-io/transport-node';
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { decode } from '../../protocol/codec.ts';
import type { AnyMessage } from '../../protocol/messages.ts';
import { ensureResources } from '../../protocol/resources.ts';
import { startNats, type NatsFixture } from '../../test/nats-fixture.ts';

export interface RuntimeEnv {
  readonly server: NatsFixture;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly logger: Logger;
  /** Another connection to the same server (closed by close()). */
  connect(): Promise<NatsConnection>;
  close(): Promise<void>;
}

export async function runtimeEnv(): Promise<RuntimeEnv> {
  const server = await startNats();
  const conns: NatsConnection[] = [];
  const open = async (): Promise<NatsConnection> => {
    // Unlimited reconnects with a short wait: tests restart the server under live clients.
    const c = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    conns.push(c);
    return c;
  };
  const nc = await open();
  await ensureResources(nc);
  return {
    server,
    nc,
    js: jetstream(nc),
    jsm: await jetstreamManager(nc),
    logger: pino({ level: process.env.FERRY_TEST_LOG ?? 'silent' }),
    connect: open,
    async close() {
      await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
      await server.stop();
    },
  };
}

/** Shortens a durable's ack wait and/or max deliveries so redelivery tests run in seconds. */
export async function tuneConsumer(env: RuntimeEnv, stream: string, durable: string, opts: { ackWaitMs?: number; maxDeliver?: number }): Promise<void> {
  await env.jsm.consumers.update(stream, durable, {
    ...(opts.ackWaitMs === undefined ? {} : { ack_wait: nanos(opts.ackWaitMs) }),
    ...(opts.maxDeliver === undefined ? {} : { max_deliver: opts.maxDeliver }),
  });
}

/** Reads and decodes the first `count` messages of a stream matching `filter`. */
export async function readStream(env: RuntimeEnv, stream: string, filter: string, count: number, timeoutMs = 10_000): Promise<{ subject: string; message: AnyMessage }[]> {
  const out: { subject: string; message: AnyMessage }[] = [];
  if (count === 0) return out;
  const consumer = await env.js.consumers.get(stream, { filter_subjects: filter, deliver_policy: DeliverPolicy.All });
  const iter = await consumer.consume();
  const timer = setTimeout(() => void iter.close(), timeoutMs);
  for await (const m of iter) {
    out.push({ subject: m.subject, message: decode(m.data, m.headers) });
    if (out.length >= count) break;
  }
  clearTimeout(timer);
  return out;
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Whether the client reads a bucket with direct gets (the library keeps this on the bucket object). */
export const readsDirect = (kv: KV): boolean => (kv as unknown as { direct: boolean }).direct;
