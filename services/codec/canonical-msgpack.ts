/**
 * Canonical MessagePack encoding for repository objects.
 *
 * The repository format is binding, so every encoder must produce the same
 * bytes for the same value. Rules (see docs/design.md, "Encoding"):
 * - integers (number or bigint) use the shortest MessagePack form: positive
 *   fixint, uint8/16/32/64 for non-negative values, negative fixint or
 *   int8/16/32/64 for negative ones. Floats are not allowed.
 * - strings are UTF-8 in the shortest str form; Uint8Array is the shortest bin form;
 * - arrays in the shortest array form; plain objects are maps whose keys are
 *   written in insertion order (the format fixes each object's key order),
 *   with `undefined` members left out; null is nil; booleans true/false.
 * Decoding uses msgpackr (any conforming decoder reads these bytes).
 */
import { Unpackr } from 'msgpackr';
import { FerryError } from '../../protocol/errors.ts';

export type Canonical = null | boolean | number | bigint | string | Uint8Array | readonly Canonical[] | { readonly [k: string]: Canonical | undefined };

class Writer {
  buf = new Uint8Array(4096);
  view = new DataView(this.buf.buffer);
  len = 0;
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void { this.ensure(1); this.buf[this.len++] = v; }
  u16(v: number): void { this.ensure(2); this.view.setUint16(this.len, v); this.len += 2; }
  u32(v: number): void { this.ensure(4); this.view.setUint32(this.len, v); this.len += 4; }
  u64(v: bigint): void { this.ensure(8); this.view.setBigUint64(this.len, v); this.len += 8; }
  i64(v: bigint): void { this.ensure(8); this.view.setBigInt64(this.len, v); this.len += 8; }
  bytes(b: Uint8Array): void { this.ensure(b.length); this.buf.set(b, this.len); this.len += b.length; }
}

function writeInt(w: Writer, v: bigint): void {
  if (v >= 0n) {
    if (v < 128n) w.u8(Number(v));
    else if (v < 256n) { w.u8(0xcc); w.u8(Number(v)); }
    else if (v < 65536n) { w.u8(0xcd); w.u16(Number(v)); }
    else if (v < 4294967296n) { w.u8(0xce); w.u32(Number(v)); }
    else if (v < 18446744073709551616n) { w.u8(0xcf); w.u64(v); }
    else throw new FerryError('codec.range', `integer ${v} does not fit in 64 bits`);
  } else {
    if (v >= -32n) w.u8(0x100 + Number(v));
    else if (v >= -128n) { w.u8(0xd0); w.u8(0x100 + Number(v)); }
    else if (v >= -32768n) { w.u8(0xd1); w.u16(0x10000 + Number(v)); }
    else if (v >= -2147483648n) { w.u8(0xd2); w.u32(0x100000000 + Number(v)); }
    else if (v >= -9223372036854775808n) { w.u8(0xd3); w.i64(v); }
    else throw new FerryError('codec.range', `integer ${v} does not fit in 64 bits`);
  }
}

function writeLen(w: Writer, n: number, fix: number, fixMax: number, c8: number | null, c16: number, c32: number): void {
  if (n <= fixMax) w.u8(fix | n);
  else if (c8 !== null && n < 256) { w.u8(c8); w.u8(n); }
  else if (n < 65536) { w.u8(c16); w.u16(n); }
  else { w.u8(c32); w.u32(n); }
}

const utf8 = new TextEncoder();

function write(w: Writer, v: Canonical): void {
  if (v === null) w.u8(0xc0);
  else if (v === true) w.u8(0xc3);
  else if (v === false) w.u8(0xc2);
  else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new FerryError('codec.float', `canonical encoding allows integers only, got ${v}`);
    writeInt(w, BigInt(v));
  } else if (typeof v === 'bigint') writeInt(w, v);
  else if (typeof v === 'string') {
    const b = utf8.encode(v);
    writeLen(w, b.length, 0xa0, 31, 0xd9, 0xda, 0xdb);
    w.bytes(b);
  } else if (v instanceof Uint8Array) {
    if (v.length < 256) { w.u8(0xc4); w.u8(v.length); }
    else if (v.length < 65536) { w.u8(0xc5); w.u16(v.length); }
    else { w.u8(0xc6); w.u32(v.length); }
    w.bytes(v);
  } else if (Array.isArray(v)) {
    writeLen(w, v.length, 0x90, 15, null, 0xdc, 0xdd);
    for (const item of v as readonly Canonical[]) write(w, item);
  } else {
    const entries = Object.entries(v as Record<string, Canonical | undefined>).filter(([, x]) => x !== undefined);
    writeLen(w, entries.length, 0x80, 15, null, 0xde, 0xdf);
    for (const [k, x] of entries) {
      write(w, k);
      write(w, x as Canonical);
    }
  }
}

export function encodeCanonical(value: Canonical): Uint8Array {
  const w = new Writer();
  write(w, value);
  return w.buf.slice(0, w.len);
}

// 64-bit integers decode as bigint (nanosecond times); readers convert fields that fit a number.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint' });

export function decodeMsgpack(bytes: Uint8Array, what: string): unknown {
  try {
    return unpackr.unpack(bytes);
  } catch (cause) {
    throw new FerryError('codec.corrupt', `${what} is not valid MessagePack`, { cause });
  }
}
