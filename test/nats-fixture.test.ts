import { existsSync } from 'node:fs';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { retry, startCluster, startNats, type ClusterFixture, type NatsFixture } from './nats-fixture.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('startNats', () => {
  it('starts a JetStream server, stops it, and stop() is safe twice', async () => {
    const s: NatsFixture = await startNats();
    cleanups.push(() => s.stop());
    expect(s.url).toBe(`nats://127.0.0.1:${s.port}`);
    const nc = await connect({ servers: s.url });
    const sub = nc.subscribe('echo', { callback: (_e, m) => void m.respond(m.data) });
    const reply = await nc.request('echo', 'hi');
    expect(reply.string()).toBe('hi');
    const info = await (await jetstreamManager(nc)).getAccountInfo();
    expect(info.streams).toBe(0);
    sub.unsubscribe();
    await nc.close();
    expect(s.logs()).toContain('Server is ready');

    await s.stop();
    await s.stop();
    expect(existsSync(s.storeDir)).toBe(false);
    await expect(connect({ servers: s.url, reconnect: false, timeout: 500 })).rejects.toThrow();
    await expect(s.restart()).rejects.toThrow(/stopped/);
  });

  it('can run without JetStream', async () => {
    const s = await startNats({ jetstream: false });
    cleanups.push(() => s.stop());
    const nc = await connect({ servers: s.url });
    await expect(jetstreamManager(nc, { timeout: 1000 })).rejects.toThrow();
    await nc.close();
  });

  it('keeps a stream across kill -9 and restart on the same port', async () => {
    const s = await startNats();
    cleanups.push(() => s.stop());
    let nc = await connect({ servers: s.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'FIXTURE_KILL', subjects: ['fixture.kill.>'] });
    const js = jetstream(nc);
    for (let i = 0; i < 5; i++) await js.publish(`fixture.kill.${i}`, `m${i}`);
    await nc.close();

    await s.kill();
    await expect(connect({ servers: s.url, reconnect: false, timeout: 500 })).rejects.toThrow();
    await s.restart();
    expect(s.logs()).toContain('starting again');

    nc = await connect({ servers: s.url });
    const after: JetStreamManager = await jetstreamManager(nc);
    const info = await after.streams.info('FIXTURE_KILL');
    expect(info.state.messages).toBe(5);
    const m = await after.streams.getMessage('FIXTURE_KILL', { seq: 5 });
    expect(m?.string()).toBe('m4');
    await nc.close();
  });
});

describe('startCluster', () => {
  it('serves an R3 stream after its leader is killed, and the node rejoins', async () => {
    const c: ClusterFixture = await startCluster();
    cleanups.push(() => c.stop());
    expect(c.urls).toHaveLength(3);
    expect(new Set(c.urls).size).toBe(3);

    const nc = await connect({ servers: c.urls, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    cleanups.push(() => nc.close());
    const jsm = await jetstreamManager(nc);
    const created = await retry('add R3 stream', () => jsm.streams.add({ name: 'FIXTURE_R3', subjects: ['fixture.r3.>'], num_replicas: 3 }), 20_000);
    expect(created.config.num_replicas).toBe(3);
    const js = jetstream(nc);
    for (let i = 0; i < 10; i++) await js.publish('fixture.r3.a', `m${i}`);

    const leader = (await jsm.streams.info('FIXTURE_R3')).cluster?.leader;
    expect(leader).toMatch(/^n[123]$/);
    const victim = Number(leader?.slice(1)) - 1;
    await c.killNode(victim);

    await retry('publish after leader loss', () => js.publish('fixture.r3.a', 'after', { timeout: 2000 }), 30_000);
    const info = await retry('stream info after leader loss', () => jsm.streams.info('FIXTURE_R3'), 20_000);
    expect(info.state.messages).toBe(11);
    expect(info.cluster?.leader).not.toBe(leader);

    await c.restartNode(victim);
    const back = await retry('stream replica current again', async () => {
      const i = await jsm.streams.info('FIXTURE_R3');
      const replicas = i.cluster?.replicas ?? [];
      if (replicas.length !== 2 || !replicas.every((r) => r.current)) throw new Error(`replicas ${JSON.stringify(replicas)}`);
      return i;
    }, 20_000);
    expect(back.state.messages).toBe(11);
  });
});
