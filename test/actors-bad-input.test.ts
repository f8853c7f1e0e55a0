/**
 * Hostile input against a real `ferry serve`: 1,000 random and malformed
 * payloads published through JetStream to every actor's subjects. Each must
 * end as exactly one dead letter (with a reason and a code) in FERRY_DLQ, the
 * serve process must stay up, nothing may be left in the work queues, no job
 * record may appear, and a real backup and restore through the same serve
 * must still work afterwards.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pack } from 'msgpackr';
import { connect } from '@nats-io/transport-node';
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { makeCliEnv, type CliEnv } from './cli-harness.ts';
import { startNats, type NatsFixture } from './nats-fixture.ts';
import { startServe, waitForActors, type ServeProcess } from './serve-harness.ts';
import { compareTrees } from './compare-trees.ts';
import { FsStorage } from '../services/storage/fs.ts';
import { Repository } from '../services/repo/repository.ts';
import { Buckets, Streams } from '../protocol/resources.ts';
import { CONTENT_TYPE_MSGPACK, decode, encode, ferryType } from '../protocol/codec.ts';
import type { MessageKind, MessageOf } from '../protocol/messages.ts';
import { samples } from '../protocol/samples.fixture.ts';
import { parseSubject, subjects } from '../protocol/subjects.ts';

const TENANT = 'local'; // the CLI's default tenant
const TOTAL = 1000;
/** Of TOTAL, valid-looking work.upload and work.upload-file messages whose `events` bytes are garbage: they reach the uploader. */
const GARBAGE_EVENTS = 10;

type Target = { readonly kind: MessageKind; readonly actor: string; readonly subject: (id: string) => string };

/** Every actor subject, with the kind that belongs there and the actor that reads it. */
const TARGETS: readonly Target[] = [
  { kind: 'job.submit', actor: 'coordinator', subject: () => subjects.job(TENANT, 'submit') },
  { kind: 'job.scan-done', actor: 'coordinator', subject: () => subjects.job(TENANT, 'scan-done') },
  { kind: 'work.scan', actor: 'scanner', subject: (id) => subjects.work(TENANT, 'scan', id) },
  { kind: 'work.upload', actor: 'uploader', subject: (id) => subjects.work(TENANT, 'upload', id) },
  { kind: 'work.upload-file', actor: 'uploader', subject: (id) => subjects.work(TENANT, 'upload', id) },
  { kind: 'work.finalize', actor: 'finalizer', subject: (id) => subjects.work(TENANT, 'finalize', id) },
  { kind: 'work.restore', actor: 'restorer', subject: (id) => subjects.work(TENANT, 'restore', id) },
  { kind: 'work.verify', actor: 'verifier', subject: (id) => subjects.work(TENANT, 'verify', id) },
];

/** A valid message of a kind the target's actor does not handle. */
const OTHER_KIND: Record<string, MessageKind> = {
  'job.submit': 'work.finalize',
  'job.scan-done': 'event',
  'work.scan': 'work.verify',
  'work.upload': 'work.scan',
  'work.upload-file': 'work.restore',
  'work.finalize': 'job.cancel',
  'work.restore': 'work.upload',
  'work.verify': 'event',
};

/** The field to break with a bad number, per kind (kinds without counts get a number where a boolean or ID belongs). */
const NUMBER_FIELD: Record<string, string> = {
  'job.submit': 'requestedAt',
  'job.scan-done': 'bytes',
  'work.scan': 'jobId',
  'work.upload': 'seq',
  'work.upload-file': 'repoId',
  'work.finalize': 'batches',
  'work.restore': 'contentOnly',
  'work.verify': 'readData',
};

let seed = 20240611;
function rand(n: number): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
}
const randomBytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => rand(256));
const pick = <T,>(xs: readonly T[]): T => xs[rand(xs.length)]!;

function hdrs(ct: string | undefined, type: string | undefined): MsgHdrs {
  const h = natsHeaders();
  if (ct !== undefined) h.set('Content-Type', ct);
  if (type !== undefined) h.set('Ferry-Type', type);
  return h;
}

/** A valid body of `kind` for this tenant and job. */
function body<K extends MessageKind>(kind: K, jobId: string, repoId = 'r1'): MessageOf<K> {
  const s = samples[kind] as unknown as Record<string, unknown>;
  const v: Record<string, unknown> = { ...s };
  if ('tenant' in s) v.tenant = TENANT;
  if ('jobId' in s) v.jobId = jobId;
  if ('repoId' in s) v.repoId = repoId;
  return v as MessageOf<K>;
}

interface Payload {
  readonly subject: string;
  readonly actor: string;
  readonly data: Uint8Array;
  readonly headers?: MsgHdrs;
}

/** The i-th malformed payload: subjects and kinds of damage cycle independently. */
function malformed(i: number): Payload {
  const target = TARGETS[i % TARGETS.length]!;
  const jobId = `bad-${i}`;
  const subject = target.subject(jobId);
  const ok = hdrs(CONTENT_TYPE_MSGPACK, ferryType(target.kind));
  const good = body(target.kind, jobId);
  const p = (data: Uint8Array, headers?: MsgHdrs): Payload => ({ subject, actor: target.actor, data, ...(headers ? { headers } : {}) });
  switch (Math.floor(i / TARGETS.length) % 10) {
    case 0:
      // Random bytes, no headers at all.
      return p(randomBytes(1 + rand(300)));
    case 1:
      // Random bytes with correct headers.
      return p(randomBytes(1 + rand(300)), ok);
    case 2: {
      // Valid MessagePack of the wrong shape, correct headers.
      const deep = new Uint8Array(100_001).fill(0x91);
      deep[100_000] = 0xc0; // [[[[…nil…]]]], 100,000 levels deep
      const shapes: (() => Uint8Array)[] = [
        () => pack([[1, 2], 'x']),
        () => pack('text'),
        () => pack(42),
        () => pack(null),
        () => pack(true),
        () => pack({ jobId }),
        () => pack({ ...good, jobId: undefined }),
        () => pack({ ...good, tenant: { nested: TENANT } }),
        () => pack([good]),
        () => deep,
      ];
      return p(pick(shapes)(), ok);
    }
    case 3: {
      // A kind this process does not speak, or the right kind at the wrong version.
      const types = ['nonsense', 'work.nap/1', '', '/1', `${target.kind}/`, `${target.kind}/${2 + rand(100)}`, `${target.kind}/1/1`, 'event/1', 'dead-letter/1', '__proto__/1'];
      return p(pack(good), hdrs(CONTENT_TYPE_MSGPACK, pick(types)));
    }
    case 4: {
      // A valid message of another kind, labelled as such: not this actor's.
      const other = OTHER_KIND[target.kind]!;
      const e = encode(other, body(other, jobId));
      return p(e.data, e.headers);
    }
    case 5:
      // Missing or wrong Content-Type.
      return p(pack(good), rand(2) === 0 ? hdrs(undefined, ferryType(target.kind)) : hdrs(pick(['application/json', 'text/plain', 'msgpack', '']), ferryType(target.kind)));
    case 6: {
      // Huge, negative, fractional and non-finite numbers.
      const bad: unknown[] = [2 ** 64, 1e300, -1, -(2 ** 53), 2 ** 53, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2n ** 64n - 1n, -(2n ** 63n)];
      return p(pack({ ...good, [NUMBER_FIELD[target.kind]!]: pick(bad) }), ok);
    }
    case 7:
      // A well-formed message whose body tenant differs from the subject's.
      return p(pack({ ...good, tenant: pick(['other', 'acme', 'local2', '_']) }), ok);
    case 8: {
      // A valid body cut short.
      const full = pack(good);
      return p(full.subarray(0, rand(full.length)), ok);
    }
    default:
      // IDs that would escape a subject, key or path.
      return p(pack({ ...good, jobId: pick(['a.b', '*', '>', '', 'x'.repeat(65), '../etc', 'ünï', 7, null]) }), ok);
  }
}

/**
 * Valid work.upload and (every other one) work.upload-file messages for this
 * repository whose scan events are garbage: only the domain layer can refuse
 * them. A file item must also hold exactly one file to read.
 */
function garbageEvents(repoId: string): Payload[] {
  const events: Uint8Array[] = [
    Uint8Array.of(0xc1),
    Uint8Array.of(0x90, 0x90),
    pack('not events'),
    pack([1, 2, 3]),
    pack([['z']]),
    pack([['f', { n: 5 }]]),
    pack([['d']]),
    pack([['e'], ['e']]).subarray(0, 3),
    Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff, 1, 2, 3),
    pack([['f', { n: 'x', t: 'bogus' }]]),
  ];
  const notOneFile = [pack([]), pack([['e']]), pack([['e'], ['e']])];
  return Array.from({ length: GARBAGE_EVENTS }, (_, i) => {
    const jobId = `garbage-${i}`;
    const e = i % 2 === 0
      ? encode('work.upload', { ...body('work.upload', jobId, repoId), seq: i, events: events[i % events.length]! })
      : encode('work.upload-file', { ...body('work.upload-file', jobId, repoId), events: i % 4 === 1 ? events[i % events.length]! : notOneFile[i % notOneFile.length]! });
    return { subject: subjects.work(TENANT, 'upload', jobId), actor: 'uploader', data: e.data, headers: e.headers };
  });
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('ferry serve on hostile input', () => {
  let t: CliEnv;
  let nats: NatsFixture;
  let nc: NatsConnection | undefined;
  let src: string;
  const serves: ServeProcess[] = [];
  const client = (args: string[]) => t.run(args, { env: { NATS_URL: nats.url } });

  beforeEach(async () => {
    t = await makeCliEnv();
    nats = await startNats();
    src = join(t.dir, 'src');
    for (let d = 0; d < 4; d++) {
      await mkdir(join(src, `d${d}`), { recursive: true });
      for (let f = 0; f < 25; f++) await writeFile(join(src, `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`.repeat(1 + f * 13));
    }
    expect((await t.run(['init', '--kdf-memory', '8'])).code).toBe(0);
  });
  afterEach(async () => {
    await nc?.close().catch(() => undefined);
    nc = undefined;
    await Promise.all(serves.splice(0).map((s) => s.stop()));
    await nats.stop();
    await t.cleanup();
  });

  it('dead-letters 1,000 malformed payloads once each, stays up, and still backs up and restores', async () => {
    const serve = startServe(t, nats.url, ['coordinator', 'scanner', 'uploader', 'finalizer', 'restorer', 'verifier']);
    serves.push(serve);
    await waitForActors(nats.url, ['coordinator', 'scanner', 'uploader', 'finalizer', 'restorer', 'verifier']);

    const repo = await Repository.open(await FsStorage.create(t.repo), t.env.FERRY_PASSWORD!);
    const repoId = repo.config.id;
    await repo.close();

    nc = await connect({ servers: nats.url });
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);

    const payloads = [...Array.from({ length: TOTAL - GARBAGE_EVENTS }, (_, i) => malformed(i)), ...garbageEvents(repoId)];
    expect(payloads).toHaveLength(TOTAL);
    for (let i = 0; i < payloads.length; i += 100) {
      await Promise.all(payloads.slice(i, i + 100).map((m) => js.publish(m.subject, m.data, m.headers ? { headers: m.headers } : {})));
    }

    // Each garbage batch fails in the uploader, which reports job.failed for a
    // job the coordinator never heard of: that report is dead-lettered too.
    const expected = TOTAL + GARBAGE_EVENTS;
    const dlqCount = async () => (await jsm.streams.info(Streams.Dlq)).state.messages;
    await waitFor(`${expected} dead letters`, async () => (await dlqCount()) >= expected, 75_000).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}; have ${await dlqCount()}\n${serve.output().slice(-3000)}`);
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await dlqCount()).toBe(expected);

    // Read every dead letter back and match it to the payload it carries.
    const consumer = await js.consumers.get(Streams.Dlq);
    const letters: JsMsg[] = [];
    while (letters.length < expected) {
      const before = letters.length;
      for await (const m of await consumer.fetch({ max_messages: Math.min(500, expected - letters.length), expires: 3000 })) letters.push(m);
      if (letters.length === before) break;
    }
    expect(letters).toHaveLength(expected);

    const pending = new Map<string, number>(); // subject + payload hex -> count not yet matched
    const keyOf = (subject: string, data: Uint8Array) => `${subject} ${hex(data)}`;
    for (const m of payloads) pending.set(keyOf(m.subject, m.data), (pending.get(keyOf(m.subject, m.data)) ?? 0) + 1);
    const actorOf = new Map(payloads.map((m) => [m.subject, m.actor]));
    const codes = new Map<string, number>();
    const followUps: { code: string; subject: string }[] = [];
    const msgIds = new Set<string>();
    for (const l of letters) {
      const d = decode(l.data, l.headers);
      expect(d.kind).toBe('dead-letter');
      if (d.kind !== 'dead-letter') continue;
      const v = d.value;
      expect(v.reason.trim().length, JSON.stringify(v)).toBeGreaterThan(0);
      expect(v.code.trim().length, JSON.stringify(v)).toBeGreaterThan(0);
      const id = l.headers?.get('Nats-Msg-Id') ?? '';
      expect(id).toMatch(/^dl-FERRY_(JOBS|WORK)-\d+$/);
      expect(msgIds.has(id), `dead letter ${id} stored twice`).toBe(false);
      msgIds.add(id);
      const dlq = parseSubject(l.subject);
      expect(dlq.family).toBe('dlq');
      if (dlq.family === 'dlq') {
        expect(dlq.tenant).toBe(TENANT);
        expect(dlq.actor).toBe(v.actor);
      }
      const k = keyOf(v.subject, v.payload);
      const left = pending.get(k);
      if (left !== undefined) {
        expect(v.actor).toBe(actorOf.get(v.subject));
        if (left === 1) pending.delete(k);
        else pending.set(k, left - 1);
        codes.set(v.code, (codes.get(v.code) ?? 0) + 1);
      } else {
        followUps.push({ code: v.code, subject: v.subject });
      }
    }
    expect(pending.size, `payloads without a dead letter: ${[...pending.keys()].slice(0, 5).join('\n')}`).toBe(0);
    expect(followUps).toHaveLength(GARBAGE_EVENTS);
    for (const f of followUps) expect(f).toEqual({ code: 'job.not-found', subject: subjects.job(TENANT, 'failed') });
    for (const code of [
      'protocol.bad-content-type',
      'protocol.bad-version',
      'protocol.invalid',
      'protocol.tenant-mismatch',
      'protocol.undecodable',
      'protocol.unexpected-kind',
      'protocol.unknown-kind',
    ]) {
      expect(codes.get(code) ?? 0, `dead letters with ${code}`).toBeGreaterThan(0);
    }
    // The garbage batches are refused by the domain layer, not retried.
    const domain = [...codes.entries()].filter(([c]) => !c.startsWith('protocol.'));
    expect(domain.reduce((n, [, x]) => n + x, 0), JSON.stringify(domain)).toBe(GARBAGE_EVENTS);
    for (const [c] of domain) expect(['codec.corrupt', 'jobs.bad-events', 'repo.corrupt']).toContain(c);

    // Everything was settled: nothing waits in a work queue or for redelivery, and no job record appeared.
    expect((await jsm.streams.info(Streams.Jobs)).state.messages).toBe(0);
    expect((await jsm.streams.info(Streams.Work)).state.messages).toBe(0);
    for (const c of await (async () => { const a = []; for await (const x of jsm.consumers.list(Streams.Work)) a.push(x); return a; })()) {
      expect(c.num_ack_pending, c.name).toBe(0);
    }
    const jobsKv = await new Kvm(nc).open(Buckets.Jobs);
    expect((await jobsKv.status()).values).toBe(0);

    // The serve process survived all of it.
    expect(serve.child.exitCode).toBeNull();
    expect(serve.child.signalCode).toBeNull();
    const out = serve.output();
    expect(out).not.toMatch(/uncaught|unhandled|"level":60/i);
    await waitForActors(nats.url, ['coordinator', 'scanner', 'uploader', 'finalizer', 'restorer', 'verifier']);

    // And it still does real work.
    const b = await client(['backup', src, '--json']);
    expect(b.code, b.stderr).toBe(0);
    const restored = join(t.dir, 'restored');
    const r = await client(['restore', `latest:${src}`, '--target', restored]);
    expect(r.code, r.stderr).toBe(0);
    expect(await compareTrees(src, restored, { metadata: true })).toEqual([]);
    expect(await dlqCount()).toBe(expected);
    expect(serve.child.exitCode).toBeNull();
  });
});
