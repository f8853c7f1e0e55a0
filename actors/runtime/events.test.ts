import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headers } from '@nats-io/nats-core';
import type { JobEvent } from '../../protocol/messages.ts';
import { followEvents, publishEvent } from './events.ts';
import { createPublisher } from './publisher.ts';
import { runtimeEnv, type RuntimeEnv } from './runtime.fixture.ts';

const ev = (jobId: string, type: JobEvent['type'], n: number, tenant = 'acme'): JobEvent => ({ jobId, tenant, type, at: 1000 + n, actor: 'scanner', data: { n } });

async function take<T>(iter: AsyncIterable<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iter) {
    out.push(x);
    if (out.length === n) break;
  }
  return out;
}

describe('events', () => {
  let env: RuntimeEnv;
  beforeAll(async () => {
    env = await runtimeEnv();
  });
  afterAll(() => env?.close());

  it('replays from the start with a filter', async () => {
    await publishEvent(env.js, ev('j1', 'state', 1));
    await publishEvent(createPublisher(env.js), ev('j2', 'progress', 2));
    await publishEvent(env.js, ev('j1', 'progress', 3));
    await publishEvent(env.js, ev('j1', 'step', 4, 'other'));
    const j1 = await take(followEvents(env.nc, { tenant: 'acme', jobId: 'j1', fromStart: true }), 2);
    expect(j1.map((e) => e.data.n)).toEqual([1, 3]);
    const progress = await take(followEvents(env.nc, { type: 'progress', fromStart: true }), 2);
    expect(progress.map((e) => e.jobId)).toEqual(['j2', 'j1']);
  });

  it('follows live from the call, skipping junk, until aborted', async () => {
    const ac = new AbortController();
    const live = followEvents(env.nc, { tenant: 'acme', signal: ac.signal });
    const got: number[] = [];
    const reading = (async () => {
      for await (const e of live) got.push(e.data.n as number);
    })();
    await new Promise((r) => setTimeout(r, 50));
    const h = headers();
    h.set('Content-Type', 'text/plain');
    await env.js.publish('ferry.events.acme.j9.state', new TextEncoder().encode('junk'), { headers: h });
    for (let i = 10; i < 15; i++) await publishEvent(env.js, ev('j9', 'progress', i));
    while (got.length < 5) await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    await reading;
    expect(got).toEqual([10, 11, 12, 13, 14]);
  });
});
