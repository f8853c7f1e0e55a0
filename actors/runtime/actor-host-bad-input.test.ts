/**
 * 1,000 malformed messages on an actor's subject: every one ends in
 * FERRY_DLQ with a reason, the handler never sees them, and the actor keeps
 * running and handles a valid message afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/nats-core';
import { pack } from 'msgpackr';
import { encode } from '../../protocol/codec.ts';
import { Streams } from '../../protocol/resources.ts';
import { samples } from '../../protocol/samples.fixture.ts';
import { subjects } from '../../protocol/subjects.ts';
import { runActor } from './actor-host.ts';
import { readStream, runtimeEnv, waitFor, type RuntimeEnv } from './runtime.fixture.ts';

const SUBJECT = subjects.work('acme', 'upload', 'j1');

function hdrs(ct?: string, type?: string): MsgHdrs {
  const h = natsHeaders();
  if (ct !== undefined) h.set('Content-Type', ct);
  if (type !== undefined) h.set('Ferry-Type', type);
  return h;
}

let seed = 7;
function rand(n: number): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
}
const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => rand(256));
const good = samples['work.upload'];

/** The i-th malformed message: cycles through every way a message can be wrong. */
function malformed(i: number): { data: Uint8Array; headers?: MsgHdrs } {
  const ok = hdrs('application/msgpack', 'work.upload/1');
  const hugeValues = [2 ** 64, 1e300, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2n ** 70n, '7'];
  switch (i % 12) {
    case 0:
      return { data: randomBytes(1 + rand(200)), headers: ok };
    case 1:
      return { data: pack(good) };
    case 2:
      return { data: pack(good), headers: hdrs('application/json', 'work.upload/1') };
    case 3:
      return { data: pack(good), headers: hdrs('application/msgpack') };
    case 4:
      return { data: pack(good), headers: hdrs('application/msgpack', ['work.nap/1', 'nonsense', '', '/1', 'work.upload/'][i % 5]) };
    case 5:
      return { data: pack(good), headers: hdrs('application/msgpack', `work.upload/${2 + rand(100)}`) };
    case 6:
      return { data: pack([[1, 2], 'text', 42, null, { jobId: 'j1' }, true][rand(6)]), headers: ok };
    case 7:
      return { data: pack({ ...good, seq: hugeValues[rand(hugeValues.length)] }), headers: ok };
    case 8:
      // Valid message of another kind, labelled as such: this actor does not handle it.
      return encode('job.cancel', samples['job.cancel']);
    case 9:
      return { data: pack({ ...good, tenant: 'other' }), headers: ok };
    case 10: {
      const full = pack(good);
      return { data: full.subarray(0, rand(full.length)), headers: ok };
    }
    default:
      return { data: pack({ ...good, jobId: ['a.b', '*', '', 'x'.repeat(65), 7][rand(5)], events: 'nope' }), headers: ok };
  }
}

describe('actor host on bad input', () => {
  let env: RuntimeEnv;
  beforeAll(async () => {
    env = await runtimeEnv();
  });
  afterAll(() => env?.close());

  it('dead-letters 1,000 malformed messages and keeps working', async () => {
    const handled: number[] = [];
    const host = await runActor({
      nc: env.nc,
      logger: env.logger,
      actor: 'uploader',
      stream: Streams.Work,
      accepts: ['work.upload'],
      handler: async (_ctx, m) => {
        handled.push(m.value.seq);
      },
    });
    for (let i = 0; i < 1000; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => {
          const m = malformed(i + j);
          return env.js.publish(SUBJECT, m.data, m.headers === undefined ? {} : { headers: m.headers });
        }),
      );
    }
    const letters = await readStream(env, Streams.Dlq, 'ferry.dlq.acme.uploader', 1000, 30_000);
    expect(letters).toHaveLength(1000);
    const codes = new Map<string, number>();
    for (const l of letters) {
      expect(l.message.kind).toBe('dead-letter');
      const v = l.message.value as { reason: string; code: string; subject: string };
      expect(v.reason.length).toBeGreaterThan(0);
      expect(v.subject).toBe(SUBJECT);
      codes.set(v.code, (codes.get(v.code) ?? 0) + 1);
    }
    expect([...codes.keys()].sort()).toEqual([
      'protocol.bad-content-type',
      'protocol.bad-version',
      'protocol.invalid',
      'protocol.tenant-mismatch',
      'protocol.undecodable',
      'protocol.unexpected-kind',
      'protocol.unknown-kind',
    ]);
    expect(handled).toEqual([]);

    const { data, headers } = encode('work.upload', { ...good, seq: 4242 });
    await env.js.publish(SUBJECT, data, { headers });
    await waitFor('valid message handled', () => handled.length === 1);
    expect(handled).toEqual([4242]);
    await host.close();
    expect(host.stats()).toMatchObject({ deadLettered: 1000, acked: 1 });
    // Termed and acked messages leave the work queue; nothing waits for redelivery.
    await waitFor('work queue empty', async () => (await env.jsm.streams.info(Streams.Work)).state.messages === 0, 5000);
    expect((await env.jsm.consumers.info(Streams.Work, 'uploader')).num_ack_pending).toBe(0);
  });
});
