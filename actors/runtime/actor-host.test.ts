import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryError } from '../../protocol/errors.ts';
import type { WorkUpload } from '../../protocol/messages.ts';
import { Durables, Streams } from '../../protocol/resources.ts';
import { subjects } from '../../protocol/subjects.ts';
import { samples } from '../../protocol/samples.fixture.ts';
import type { ActorMessage } from './actor-context.ts';
import { runActor, type ActorHost } from './actor-host.ts';
import { createPublisher } from './publisher.ts';
import { readStream, runtimeEnv, tuneConsumer, waitFor, type RuntimeEnv } from './runtime.fixture.ts';

const upload = (jobId: string, seq: number): WorkUpload => ({ ...samples['work.upload'], jobId, seq });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('actor host', () => {
  let env: RuntimeEnv;
  const hosts: ActorHost[] = [];
  beforeAll(async () => {
    env = await runtimeEnv();
  });
  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.close()));
    await env?.close();
  });

  async function start(jobId: string, handler: (m: ActorMessage<'work.upload'>) => Promise<unknown>, opts: { concurrency?: number; nc?: RuntimeEnv['nc']; retryMs?: number } = {}) {
    const host = await runActor({
      nc: opts.nc ?? env.nc,
      logger: env.logger,
      actor: 'uploader',
      stream: Streams.Work,
      accepts: ['work.upload'],
      concurrency: opts.concurrency ?? 4,
      ...(opts.retryMs === undefined ? {} : { retry: { initialMs: opts.retryMs } }),
      handler: async (ctx, m) => {
        // Each test uses its own jobId; others' leftovers are acked and ignored.
        if (m.value.jobId !== jobId) return;
        expect(ctx.log).toBeDefined();
        return (await handler(m)) as void;
      },
    });
    hosts.push(host);
    return host;
  }

  const publish = (jobId: string, n: number) => {
    const p = createPublisher(env.js);
    return Promise.all(Array.from({ length: n }, (_, i) => p.publish(subjects.work('acme', 'upload', jobId), 'work.upload', upload(jobId, i))));
  };

  it('spreads one durable over replicas, each bounded by its concurrency', async () => {
    const seen = new Map<number, string>();
    let running = 0;
    let peak = 0;
    const work = (who: string) => async (m: ActorMessage<'work.upload'>) => {
      running++;
      peak = Math.max(peak, running);
      await sleep(100);
      seen.set(m.value.seq, who);
      running--;
    };
    const a = await start('share', work('a'), { concurrency: 2 });
    const b = await start('share', work('b'), { concurrency: 2, nc: await env.connect() });
    const t0 = Date.now();
    await publish('share', 16);
    await waitFor('16 handled', () => seen.size === 16);
    expect(Date.now() - t0).toBeLessThan(16 * 100);
    expect(peak).toBeLessThanOrEqual(4);
    expect(new Set(seen.values())).toEqual(new Set(['a', 'b']));
    await Promise.all([a.close(), b.close()]);
    expect(a.stats().acked + b.stats().acked).toBeGreaterThanOrEqual(16);
  });

  it('retries a retryable failure with backoff, then acks', async () => {
    const deliveries: { at: number; count: number; redelivered: boolean }[] = [];
    const host = await start('retry', async (m) => {
      deliveries.push({ at: Date.now(), count: m.deliveryCount, redelivered: m.redelivered });
      if (m.deliveryCount < 3) throw new FerryError('test.flaky', 'try again', { retryable: true });
    });
    await publish('retry', 1);
    await waitFor('3 deliveries', () => deliveries.length === 3);
    expect(deliveries.map((d) => d.count)).toEqual([1, 2, 3]);
    expect(deliveries[2]!.redelivered).toBe(true);
    // 1 s, then 2 s (default backoff), each a little early/late at most.
    expect(deliveries[1]!.at - deliveries[0]!.at).toBeGreaterThanOrEqual(900);
    expect(deliveries[2]!.at - deliveries[1]!.at).toBeGreaterThanOrEqual(1900);
    await host.close();
    expect(host.stats()).toMatchObject({ acked: 1, naked: 2, deadLettered: 0 });
  });

  it('dead-letters non-retryable failures, terms and exhausted retries', async () => {
    await tuneConsumer(env, Streams.Work, Durables.Uploader, { maxDeliver: 3 });
    const counts = new Map<number, number>();
    const host = await start(
      'dl',
      async (m) => {
        counts.set(m.value.seq, (counts.get(m.value.seq) ?? 0) + 1);
        if (m.value.seq === 0) throw new FerryError('repo.corrupt', 'pack 42 is damaged');
        if (m.value.seq === 1) return { term: { reason: 'job was cancelled' } };
        if (m.value.seq === 2) throw new Error('socket hang up');
        return { nak: { delayMs: 10 } };
      },
      { retryMs: 20 },
    );
    await publish('dl', 4);
    const letters = await readStream(env, Streams.Dlq, 'ferry.dlq.acme.uploader', 4);
    // Dead-lettered messages are termed: nothing stays pending on the consumer.
    await waitFor('dead letters termed', async () => (await env.jsm.consumers.info(Streams.Work, Durables.Uploader)).num_ack_pending === 0, 5000);
    await host.close();
    await tuneConsumer(env, Streams.Work, Durables.Uploader, { maxDeliver: 20 });
    const bySeq = new Map(letters.map((l) => [(l.message.value as { payload: Uint8Array }).payload, l.message.value]));
    expect(bySeq.size).toBe(4);
    const values = letters.map((l) => l.message.value as { code: string; reason: string; actor: string; subject: string; headers: Record<string, string> });
    expect(values.map((v) => v.code).sort()).toEqual(['actor.max-deliveries', 'actor.max-deliveries', 'actor.terminated', 'repo.corrupt']);
    expect(values.find((v) => v.code === 'repo.corrupt')!.reason).toBe('pack 42 is damaged');
    expect(values.find((v) => v.code === 'actor.terminated')!.reason).toBe('job was cancelled');
    expect(values.some((v) => v.reason.includes('socket hang up') && v.reason.includes('3 deliveries'))).toBe(true);
    for (const v of values) {
      expect(v.actor).toBe('uploader');
      expect(v.subject).toBe('ferry.work.acme.upload.dl');
      expect(v.headers['Ferry-Type']).toBe('work.upload/1');
    }
    expect([...counts.entries()].sort()).toEqual([[0, 1], [1, 1], [2, 3], [3, 3]]);
  });

  it('keeps a long handler\'s message alive with heartbeats', async () => {
    await tuneConsumer(env, Streams.Work, Durables.Uploader, { ackWaitMs: 1200 });
    let calls = 0;
    const host = await start('slow', async () => {
      calls++;
      await sleep(4000);
    });
    await publish('slow', 1);
    await waitFor('handled', () => host.stats().acked >= 1, 10_000);
    await sleep(1500);
    await host.close();
    await tuneConsumer(env, Streams.Work, Durables.Uploader, { ackWaitMs: 60_000 });
    expect(calls).toBe(1);
  });
});
