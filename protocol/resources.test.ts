import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { nanos } from '@nats-io/nats-core';
import { jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { startCluster, startNats, type NatsFixture } from '../test/nats-fixture.ts';
import { bucketSpecs, Buckets, ConsumerDefaults, consumerSpecs, ensureResources, Streams, streamSpecs } from './resources.ts';

describe('ensureResources', () => {
  let server: NatsFixture;
  let nc: NatsConnection;

  beforeAll(async () => {
    server = await startNats();
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('creates everything, concurrently from several clients, and is idempotent', async () => {
    const others = await Promise.all([1, 2, 3].map(() => connect({ servers: server.url })));
    await Promise.all([nc, ...others, nc].map((c) => ensureResources(c)));
    await Promise.all(others.map((c) => c.close()));
    await ensureResources(nc);

    const jsm = await jetstreamManager(nc);
    const streams = (await jsm.streams.list().next()).map((s) => s.config.name).sort();
    expect(streams).toEqual([...streamSpecs.map((s) => s.name), ...bucketSpecs.map((b) => `KV_${b.bucket}`)].sort());
    const work = await jsm.streams.info(Streams.Work);
    expect(work.config.retention).toBe('workqueue');
    expect(work.config.duplicate_window).toBe(nanos(600_000));
    expect(work.config.max_msg_size).toBe(8 * 1024 * 1024);
    expect((await jsm.streams.info(Streams.Events)).config.max_age).toBe(nanos(7 * 86_400_000));
    for (const c of consumerSpecs) {
      const ci = await jsm.consumers.info(c.stream, c.durable);
      expect(ci.config).toMatchObject({ ack_policy: 'explicit', ack_wait: nanos(ConsumerDefaults.ackWaitMs), max_deliver: ConsumerDefaults.maxDeliver, filter_subject: c.filter });
    }
    expect((await jsm.consumers.info(Streams.Work, 'uploader')).config.filter_subject).toBe('ferry.work.*.upload.*');
    const names = [];
    for await (const s of new Kvm(nc).list()) names.push(s.bucket);
    expect(names.sort()).toEqual(Object.values(Buckets).sort());
    expect((await jsm.streams.info('KV_ferry-fragments')).config.max_age).toBe(nanos(14 * 86_400_000));
  });

  it('updates limits it can change and refuses the ones it cannot', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.update(Streams.Dlq, { max_age: nanos(1000_000) });
    await jsm.consumers.update(Streams.Jobs, 'coordinator', { max_deliver: 3 });
    await ensureResources(nc);
    expect((await jsm.streams.info(Streams.Dlq)).config.max_age).toBe(nanos(30 * 86_400_000));
    expect((await jsm.consumers.info(Streams.Jobs, 'coordinator')).config.max_deliver).toBe(20);

    await jsm.streams.delete(Streams.Events);
    await jsm.streams.add({ name: Streams.Events, subjects: ['ferry.events.>'], retention: RetentionPolicy.Interest });
    await expect(ensureResources(nc)).rejects.toMatchObject({ code: 'protocol.resource-conflict' });
  });
});

describe('ensureResources on a 3-node cluster', () => {
  it('creates R3 streams, consumers and buckets', async () => {
    const cluster = await startCluster();
    const nc = await connect({ servers: cluster.urls });
    try {
      await Promise.all([ensureResources(nc, { replicas: 3 }), ensureResources(nc, { replicas: 3 })]);
      const jsm = await jetstreamManager(nc);
      for (const s of streamSpecs) expect((await jsm.streams.info(s.name)).config.num_replicas).toBe(3);
      for (const b of bucketSpecs) expect((await jsm.streams.info(`KV_${b.bucket}`)).config.num_replicas).toBe(3);
      const ci = await jsm.consumers.info(Streams.Work, 'scanner');
      expect(ci.cluster?.replicas?.length).toBe(2);
    } finally {
      await nc.close();
      await cluster.stop();
    }
  });
});
