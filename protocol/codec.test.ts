import { describe, expect, it } from 'vitest';
import { headers } from '@nats-io/nats-core';
import { pack } from 'msgpackr';
import { decode, encode, ferryType, FerryHeaders, headersToRecord } from './codec.ts';
import { FerryError } from './errors.ts';
import { MessageKinds, validate, type MessageKind } from './messages.ts';
import { samples } from './samples.fixture.ts';

function hdrs(ct: string | undefined, type: string | undefined) {
  const h = headers();
  if (ct !== undefined) h.set(FerryHeaders.ContentType, ct);
  if (type !== undefined) h.set(FerryHeaders.FerryType, type);
  return h;
}

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FerryError);
    return (err as FerryError).code;
  }
  return 'no error';
};

describe('codec', () => {
  it('round-trips every kind with the inspection headers', () => {
    for (const kind of MessageKinds) {
      const { data, headers: h } = encode(kind, samples[kind] as never);
      expect(h.get('Content-Type')).toBe('application/msgpack');
      expect(h.get('Ferry-Type')).toBe(ferryType(kind));
      const back = decode(data, h);
      expect(back.kind).toBe(kind);
      expect(back.value).toEqual(samples[kind]);
    }
  });

  it('drops unknown fields and treats nil as an absent optional', () => {
    const body = { ...samples['job.finalized'], snapshotId: null, extra: 'x' };
    const back = decode(pack(body), hdrs('application/msgpack', 'job.finalized/1'));
    expect(back.value).toEqual({ jobId: 'j1', tenant: 'acme', status: 'warning', summary: { files: 10 } });
  });

  it('refuses to encode an invalid message', () => {
    expect(codeOf(() => encode('job.cancel', { jobId: 'a.b', tenant: 't' }))).toBe('protocol.invalid');
  });

  it('names the failing kind and field', () => {
    try {
      validate('job.scan-done', { ...samples['job.scan-done'], files: -1 });
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'protocol.invalid', details: { kind: 'job.scan-done', field: 'files' } });
    }
    const bad: [MessageKind, Record<string, unknown>, string][] = [
      ['job.submit', { ...samples['job.submit'], type: 'nap' }, 'type'],
      ['job.submit', { ...samples['job.submit'], requestedAt: 1.5 }, 'requestedAt'],
      ['job.submit', { ...samples['job.submit'], requestedAt: 2 ** 64 }, 'requestedAt'],
      ['job.submit', { ...samples['job.submit'], spec: [] }, 'spec'],
      ['job.failed', { ...samples['job.failed'], error: { code: 'x', message: 'm', retryable: 'no', details: {} } }, 'error.retryable'],
      ['work.scan', { ...samples['work.scan'], paths: ['/a', 3] }, 'paths[1]'],
      ['work.upload', { ...samples['work.upload'], seq: Number.NaN }, 'seq'],
      ['work.upload', { ...samples['work.upload'], events: undefined }, 'events'],
      ['dead-letter', { ...samples['dead-letter'], payload: 'abc' }, 'payload'],
      ['event', { ...samples.event, tenant: 'a b' }, 'tenant'],
    ];
    for (const [kind, body, field] of bad) {
      expect(() => validate(kind, body), `${kind} ${field}`).toThrow(expect.objectContaining({ code: 'protocol.invalid', details: { kind, field } }));
    }
  });

  it('checks headers before decoding', () => {
    const data = encode('job.cancel', samples['job.cancel']).data;
    expect(codeOf(() => decode(data, undefined))).toBe('protocol.bad-content-type');
    expect(codeOf(() => decode(data, hdrs('application/json', 'job.cancel/1')))).toBe('protocol.bad-content-type');
    expect(codeOf(() => decode(data, hdrs('application/msgpack', undefined)))).toBe('protocol.unknown-kind');
    expect(codeOf(() => decode(data, hdrs('application/msgpack', 'job.nap/1')))).toBe('protocol.unknown-kind');
    expect(codeOf(() => decode(data, hdrs('application/msgpack', 'toString/1')))).toBe('protocol.unknown-kind');
    expect(codeOf(() => decode(data, hdrs('application/msgpack', 'job.cancel/2')))).toBe('protocol.bad-version');
    expect(codeOf(() => decode(data, hdrs('application/msgpack', 'job.cancel')))).toBe('protocol.bad-version');
    expect(codeOf(() => decode(new Uint8Array([0x92, 0x01]), hdrs('application/msgpack', 'job.cancel/1')))).toBe('protocol.undecodable');
    expect(codeOf(() => decode(pack({ foo: 1 }), hdrs('application/msgpack', 'job.cancel/1')))).toBe('protocol.invalid');
    expect(codeOf(() => decode(pack([1, 2]), hdrs('Application/MsgPack; charset=x', 'job.cancel/1')))).toBe('protocol.invalid');
  });

  it('only ever throws FerryError on garbage', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const valid = MessageKinds.map((k) => ({ kind: k, data: encode(k, samples[k] as never).data }));
    const codes = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const base = valid[rand(valid.length)]!;
      let data: Uint8Array;
      switch (i % 4) {
        case 0:
          data = Uint8Array.from({ length: rand(64) }, () => rand(256));
          break;
        case 1: {
          data = Uint8Array.from(base.data);
          for (let j = 0; j < 1 + rand(4); j++) data[rand(data.length)] = rand(256);
          break;
        }
        case 2:
          data = base.data.subarray(0, rand(base.data.length));
          break;
        default:
          data = Uint8Array.from([0x91, 0xdd, 0xff, 0xff, 0xff, 0xff, ...Array.from({ length: rand(8) }, () => rand(256))]);
      }
      try {
        decode(data, hdrs('application/msgpack', ferryType(base.kind)));
        codes.set('ok', (codes.get('ok') ?? 0) + 1);
      } catch (err) {
        if (!(err instanceof FerryError)) throw err;
        codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
      }
    }
    expect([...codes.keys()].every((c) => c === 'ok' || c === 'protocol.undecodable' || c === 'protocol.invalid')).toBe(true);
    // Deep nesting overflows the decoder's stack; still a FerryError.
    const deep = new Uint8Array(2_000_000).fill(0x91);
    expect(codeOf(() => decode(deep, hdrs('application/msgpack', 'job.cancel/1')))).toMatch(/^protocol\./);
  });

  it('keeps a __proto__ header as data', () => {
    const h = headers();
    h.set('__proto__', 'x');
    h.append('A', '1');
    h.append('A', '2');
    const r = headersToRecord(h);
    expect(r['__proto__']).toBe('x');
    expect(r['A']).toBe('1, 2');
  });
});
