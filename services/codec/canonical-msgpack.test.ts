import { describe, expect, it } from 'vitest';
import { decodeMsgpack, encodeCanonical } from './canonical-msgpack.ts';

const hex = (v: Parameters<typeof encodeCanonical>[0]) => Buffer.from(encodeCanonical(v)).toString('hex');

describe('canonical msgpack', () => {
  it('uses the shortest integer forms at every boundary', () => {
    expect(hex(0)).toBe('00');
    expect(hex(127)).toBe('7f');
    expect(hex(128)).toBe('cc80');
    expect(hex(256)).toBe('cd0100');
    expect(hex(65536)).toBe('ce00010000');
    expect(hex(2 ** 32)).toBe('cf0000000100000000');
    expect(hex(-1)).toBe('ff');
    expect(hex(-32)).toBe('e0');
    expect(hex(-33)).toBe('d0df');
    expect(hex(-129)).toBe('d1ff7f');
    expect(hex(-32769)).toBe('d2ffff7fff');
    expect(hex(-(2 ** 31) - 1)).toBe('d3ffffffff7fffffff');
    expect(hex(18446744073709551615n)).toBe('cfffffffffffffffff');
  });

  it('writes strings in the shortest form around the fast-path boundary and for non-ASCII', () => {
    expect(hex('a'.repeat(31))).toBe('bf' + '61'.repeat(31));
    expect(hex('a'.repeat(32))).toBe('d920' + '61'.repeat(32));
    expect(hex('é')).toBe('a2c3a9');
    expect(hex('a'.repeat(30) + 'é')).toBe('d920' + '61'.repeat(30) + 'c3a9');
    expect(hex('')).toBe('a0');
  });

  it('refuses floats and out-of-range integers', () => {
    expect(() => encodeCanonical(1.5)).toThrow(expect.objectContaining({ code: 'codec.float' }));
    expect(() => encodeCanonical(2n ** 64n)).toThrow(expect.objectContaining({ code: 'codec.range' }));
  });

  it('round-trips through a standard decoder, leaving out undefined members', () => {
    const v = { a: 'x'.repeat(40), b: new Uint8Array(300), c: [true, false, null], d: undefined, t: 1700000000123456789n };
    const back = decodeMsgpack(encodeCanonical(v), 'test') as Record<string, unknown>;
    expect(back.a).toBe(v.a);
    expect((back.b as Uint8Array).length).toBe(300);
    expect(back.c).toEqual([true, false, null]);
    expect('d' in back).toBe(false);
    expect(back.t).toBe(1700000000123456789n);
  });

  it('reports garbage as codec.corrupt', () => {
    expect(() => decodeMsgpack(new Uint8Array([0x92, 0x01]), 'thing')).toThrow(expect.objectContaining({ code: 'codec.corrupt' }));
  });
});
