/**
 * What a backup leaves on NATS, read back through the JetStream API: exactly
 * the streams, durable consumers and KV buckets protocol/resources.ts
 * declares, all with plain readable names, and event messages that say what
 * they are in their headers (so `nats stream view` is useful without Ferry).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { makeCliEnv, type CliEnv } from './cli-harness.ts';
import { startNats, type NatsFixture } from './nats-fixture.ts';
import { Buckets, bucketSpecs, consumerSpecs, Durables, Streams, streamSpecs } from '../protocol/resources.ts';
import { CONTENT_TYPE_MSGPACK, decode, FerryHeaders, ferryType } from '../protocol/codec.ts';
import { parseSubject } from '../protocol/subjects.ts';

const NAME = /^[A-Za-z0-9_-]+$/;
const sorted = (xs: Iterable<string>): string[] => [...xs].sort();

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('NATS resource names after a backup', () => {
  let t: CliEnv;
  let nats: NatsFixture;
  let nc: NatsConnection | undefined;
  let src: string;

  beforeEach(async () => {
    t = await makeCliEnv();
    nats = await startNats();
    src = join(t.dir, 'src');
    for (let d = 0; d < 3; d++) {
      await mkdir(join(src, `d${d}`), { recursive: true });
      for (let f = 0; f < 20; f++) await writeFile(join(src, `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`.repeat(1 + f));
    }
    expect((await t.run(['init', '--kdf-memory', '8'])).code).toBe(0);
  });
  afterEach(async () => {
    await nc?.close().catch(() => undefined);
    nc = undefined;
    await nats.stop();
    await t.cleanup();
  });

  it('creates exactly the streams, consumers and buckets of protocol/resources.ts, with readable names and typed event headers', async () => {
    const b = await t.run(['backup', src, '--json'], { env: { NATS_URL: nats.url } });
    expect(b.code, b.stderr).toBe(0);
    const { job } = JSON.parse(b.stdout) as { job: string };

    nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);

    // The module's constants and its specs agree with each other ...
    expect(sorted(streamSpecs.map((s) => s.name))).toEqual(sorted(Object.values(Streams)));
    expect(sorted(consumerSpecs.map((c) => c.durable))).toEqual(sorted(Object.values(Durables)));
    expect(sorted(bucketSpecs.map((s) => s.bucket))).toEqual(sorted(Object.values(Buckets)));

    // ... and the server holds exactly those: Ferry's streams plus one KV_<bucket> stream per bucket.
    const streamNames = await collect(jsm.streams.names());
    expect(sorted(streamNames)).toEqual(sorted([...Object.values(Streams), ...Object.values(Buckets).map((b) => `KV_${b}`)]));
    const infos = await collect(jsm.streams.list());
    expect(sorted(infos.map((i) => i.config.name))).toEqual(sorted(streamNames));

    const buckets = await collect(new Kvm(nc).list());
    expect(sorted(buckets.map((s) => s.bucket))).toEqual(sorted(Object.values(Buckets)));

    // Durable consumers: exactly the specs, each on its stream; none on the
    // event, dead-letter or KV streams. (Ephemeral consumers a client left
    // behind may still be listed until the server reaps them.)
    const durablesByStream = new Map<string, string[]>();
    const allConsumerNames: string[] = [];
    for (const s of streamNames) {
      const consumers = await collect(jsm.consumers.list(s));
      allConsumerNames.push(...consumers.map((c) => c.name));
      durablesByStream.set(s, sorted(consumers.filter((c) => c.config.durable_name !== undefined).map((c) => c.config.durable_name!)));
    }
    for (const s of streamNames) {
      const want = sorted(consumerSpecs.filter((c) => c.stream === s).map((c) => c.durable));
      expect(durablesByStream.get(s), `durable consumers of ${s}`).toEqual(want);
    }
    expect(durablesByStream.get(Streams.Jobs)).toEqual([Durables.Coordinator]);
    expect(durablesByStream.get(Streams.Work)).toEqual(sorted([Durables.Scanner, Durables.Uploader, Durables.Finalizer, Durables.Restorer, Durables.Verifier, Durables.Site, Durables.Retention, Durables.Sync]));
    for (const c of consumerSpecs) {
      const info = await jsm.consumers.info(c.stream, c.durable);
      expect(info.name).toBe(c.durable);
      expect(info.config.filter_subject).toBe(c.filter);
    }

    for (const name of [...streamNames, ...buckets.map((s) => s.bucket), ...allConsumerNames]) expect(name, name).toMatch(NAME);

    // Every stream's subjects are Ferry's (KV streams keep the server's $KV layout).
    for (const i of infos) {
      if (i.config.name.startsWith('KV_')) expect(i.config.subjects).toEqual([`$KV.${i.config.name.slice(3)}.>`]);
      else expect(i.config.subjects).toEqual([...streamSpecs.find((s) => s.name === i.config.name)!.subjects]);
    }

    // Events: each carries Content-Type and Ferry-Type and decodes as event/1 on a parseable subject.
    const evInfo = await jsm.streams.info(Streams.Events);
    const count = evInfo.state.messages;
    expect(count).toBeGreaterThan(0);
    const first = await jsm.streams.getMessage(Streams.Events, { seq: evInfo.state.first_seq });
    expect(first?.header.get(FerryHeaders.ContentType)).toBe(CONTENT_TYPE_MSGPACK);
    expect(first?.header.get(FerryHeaders.FerryType)).toBe(ferryType('event'));

    const consumer = await jetstream(nc).consumers.get(Streams.Events);
    const msgs: JsMsg[] = [];
    while (msgs.length < count) {
      const batch = await consumer.fetch({ max_messages: count - msgs.length, expires: 2000 });
      const before = msgs.length;
      for await (const m of batch) msgs.push(m);
      if (msgs.length === before) break;
    }
    expect(msgs).toHaveLength(count);
    const jobsSeen = new Set<string>();
    for (const m of msgs) {
      expect(m.headers?.get(FerryHeaders.ContentType), m.subject).toBe(CONTENT_TYPE_MSGPACK);
      expect(m.headers?.get(FerryHeaders.FerryType), m.subject).toMatch(/^event\/\d+$/);
      expect(m.headers?.get(FerryHeaders.FerryType)).toBe(ferryType('event'));
      const parsed = parseSubject(m.subject);
      expect(parsed.family).toBe('events');
      const e = decode(m.data, m.headers);
      expect(e.kind).toBe('event');
      if (e.kind === 'event' && parsed.family === 'events') {
        expect(e.value.jobId).toBe(parsed.jobId);
        expect(e.value.type).toBe(parsed.type);
        jobsSeen.add(e.value.jobId);
      }
    }
    expect(jobsSeen.has(job)).toBe(true);

    // A clean backup leaves no dead letters and no work behind.
    expect((await jsm.streams.info(Streams.Dlq)).state.messages).toBe(0);
    expect((await jsm.streams.info(Streams.Work)).state.messages).toBe(0);
    expect((await jsm.streams.info(Streams.Jobs)).state.messages).toBe(0);
  });
});
