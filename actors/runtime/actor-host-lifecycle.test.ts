/**
 * Shutdown and server restarts: no message is lost either way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkUpload } from '../../protocol/messages.ts';
import { Durables, Streams } from '../../protocol/resources.ts';
import { samples } from '../../protocol/samples.fixture.ts';
import { subjects } from '../../protocol/subjects.ts';
import { runActor, type ActorHost } from './actor-host.ts';
import type { Handler } from './actor-context.ts';
import { createPublisher } from './publisher.ts';
import { runtimeEnv, tuneConsumer, waitFor, type RuntimeEnv } from './runtime.fixture.ts';

const upload = (jobId: string, seq: number): WorkUpload => ({ ...samples['work.upload'], jobId, seq });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('actor host lifecycle', () => {
  let env: RuntimeEnv;
  beforeAll(async () => {
    env = await runtimeEnv();
    // Messages in flight when the server dies come back after the ack wait; keep it short.
    await tuneConsumer(env, Streams.Work, Durables.Uploader, { ackWaitMs: 2000 });
  });
  afterAll(() => env?.close());

  const start = (handler: Handler<'work.upload'>, opts: { concurrency?: number; graceMs?: number } = {}): Promise<ActorHost> =>
    runActor({ nc: env.nc, logger: env.logger, actor: 'uploader', stream: Streams.Work, accepts: ['work.upload'], handler, ...opts });

  const publish = (jobId: string, n: number) => {
    const p = createPublisher(env.js);
    return Promise.all(Array.from({ length: n }, (_, i) => p.publish(subjects.work('acme', 'upload', jobId), 'work.upload', upload(jobId, i))));
  };

  it('finishes short handlers, hands back long ones, and loses nothing', async () => {
    const done = new Set<number>();
    let aborted = 0;
    const first = await start(
      async (ctx, m) => {
        // Even seqs finish within the grace period, odd ones would take far longer.
        const ms = m.value.seq % 2 === 0 ? 200 : 30_000;
        const finished = await new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(true), ms);
          ctx.signal.addEventListener('abort', () => (clearTimeout(t), resolve(false)), { once: true });
        });
        if (finished) done.add(m.value.seq);
        else aborted++;
      },
      { concurrency: 4, graceMs: 800 },
    );
    await publish('grace', 4);
    await waitFor('4 in flight', () => first.stats().inFlight === 4);
    const t0 = Date.now();
    const closing = first.close();
    expect(first.close()).toBe(closing);
    await closing;
    expect(Date.now() - t0).toBeLessThan(3000);
    expect([...done].sort()).toEqual([0, 2]);
    expect(first.stats()).toMatchObject({ acked: 2, naked: 2 });

    // The handed-back messages are available at once to the next process.
    const second = await start(async (_ctx, m) => {
      done.add(m.value.seq);
    });
    await waitFor('all 4 done', () => done.size === 4, 5000);
    await second.close();
    expect(aborted).toBe(2);
    expect(second.stats()).toMatchObject({ acked: 2, naked: 0 });
  });

  it('keeps consuming across a server restart without losing messages', async () => {
    const total = 400;
    const handled = new Set<number>();
    const host = await start(
      async (_ctx, m) => {
        await sleep(10);
        handled.add(m.value.seq);
      },
      { concurrency: 4 },
    );
    await publish('restart', total);
    await waitFor('a quarter handled', () => handled.size >= total / 4);
    await env.server.restart();
    expect(handled.size).toBeLessThan(total);
    await waitFor('all handled after restart', () => handled.size === total, 30_000);
    await waitFor('queue drained', async () => (await env.jsm.streams.info(Streams.Work)).state.messages === 0, 10_000);
    await host.close();
  });

  it('survives a crash of the server (SIGKILL) too', async () => {
    const total = 200;
    const handled = new Set<number>();
    const host = await start(async (_ctx, m) => {
      await sleep(10);
      handled.add(m.value.seq);
    });
    await publish('crash', total);
    await waitFor('some handled', () => handled.size >= 40);
    await env.server.kill();
    expect(handled.size).toBeLessThan(total);
    await sleep(300);
    await env.server.restart();
    await waitFor('all handled after crash', () => handled.size === total, 30_000);
    await host.close();
  });
});
