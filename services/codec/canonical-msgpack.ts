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
  buf: Buffer;
  // DataView's 64-bit setters are builtins; Buffer's are JS with several BigInt operations each.
  view: DataView;
  len = 0;
  constructor(capacity = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(capacity);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }
  u8(v: number): void { this.ensure(1); this.buf[this.len++] = v; }
  u8u8(a: number, b: number): void { this.ensure(2); this.buf[this.len++] = a; this.buf[this.len++] = b; }
  u8u16(a: number, v: number): void { this.ensure(3); this.buf[this.len++] = a; this.buf.writeUInt16BE(v, this.len); this.len += 2; }
  u8u32(a: number, v: number): void { this.ensure(5); this.buf[this.len++] = a; this.buf.writeUInt32BE(v, this.len); this.len += 4; }
  u8u64(a: number, v: bigint): void { this.ensure(9); this.buf[this.len++] = a; this.view.setBigUint64(this.len, v); this.len += 8; }
  u8i64(a: number, v: bigint): void { this.ensure(9); this.buf[this.len++] = a; this.view.setBigInt64(this.len, v); this.len += 8; }
  bytes(b: Uint8Array): void { this.ensure(b.length); this.buf.set(b, this.len); this.len += b.length; }
}

/** Integers that fit in 32 bits take this path, with no BigInt in sight (the common case by far). */
function writeSmallInt(w: Writer, v: number): void {
  if (v >= 0) {
    if (v < 128) w.u8(v);
    else if (v < 256) w.u8u8(0xcc, v);
    else if (v < 65536) w.u8u16(0xcd, v);
    else w.u8u32(0xce, v);
  } else if (v >= -32) w.u8(0x100 + v);
  else if (v >= -128) w.u8u8(0xd0, 0x100 + v);
  else if (v >= -32768) w.u8u16(0xd1, 0x10000 + v);
  else w.u8u32(0xd2, 0x100000000 + v);
}

function writeInt(w: Writer, v: bigint): void {
  if (v >= -2147483648n && v < 4294967296n) return writeSmallInt(w, Number(v));
  if (v >= 0n) {
    if (v < 18446744073709551616n) w.u8u64(0xcf, v);
    else throw new FerryError('codec.range', `integer ${v} does not fit in 64 bits`);
  } else if (v >= -9223372036854775808n) w.u8i64(0xd3, v);
  else throw new FerryError('codec.range', `integer ${v} does not fit in 64 bits`);
}

function writeLen(w: Writer, n: number, fix: number, fixMax: number, c8: number | null, c16: number, c32: number): void {
  if (n <= fixMax) w.u8(fix | n);
  else if (c8 !== null && n < 256) w.u8u8(c8, n);
  else if (n < 65536) w.u8u16(c16, n);
  else w.u8u32(c32, n);
}

function writeString(w: Writer, v: string): void {
  // Short ASCII strings (map keys, most file names) are copied byte by byte: far cheaper than a native call each.
  const n = v.length;
  if (n < 32) {
    w.ensure(n + 1);
    const buf = w.buf;
    const start = w.len;
    buf[start] = 0xa0 | n;
    let i = 0;
    for (; i < n; i++) {
      const c = v.charCodeAt(i);
      if (c >= 0x80) break;
      buf[start + 1 + i] = c;
    }
    if (i === n) {
      w.len = start + 1 + n;
      return;
    }
  }
  const bytes = Buffer.byteLength(v, 'utf8');
  writeLen(w, bytes, 0xa0, 31, 0xd9, 0xda, 0xdb);
  w.ensure(bytes);
  w.len += w.buf.write(v, w.len, 'utf8');
}

function write(w: Writer, v: Canonical): void {
  if (typeof v === 'number') {
    if (v >= -2147483648 && v < 4294967296 && Number.isInteger(v)) writeSmallInt(w, v);
    else if (Number.isSafeInteger(v)) writeInt(w, BigInt(v));
    else throw new FerryError('codec.float', `canonical encoding allows integers only, got ${v}`);
  } else if (typeof v === 'string') writeString(w, v);
  else if (v === null) w.u8(0xc0);
  else if (v === true) w.u8(0xc3);
  else if (v === false) w.u8(0xc2);
  else if (typeof v === 'bigint') writeInt(w, v);
  else if (v instanceof Uint8Array) {
    if (v.length < 256) w.u8u8(0xc4, v.length);
    else if (v.length < 65536) w.u8u16(0xc5, v.length);
    else w.u8u32(0xc6, v.length);
    w.bytes(v);
  } else if (Array.isArray(v)) {
    writeLen(w, v.length, 0x90, 15, null, 0xdc, 0xdd);
    for (const item of v as readonly Canonical[]) write(w, item);
  } else {
    const o = v as Record<string, Canonical | undefined>;
    let n = 0;
    for (const k in o) if (o[k] !== undefined) n++;
    writeLen(w, n, 0x80, 15, null, 0xde, 0xdf);
    for (const k in o) {
      const x = o[k];
      if (x === undefined) continue;
      writeString(w, k);
      write(w, x);
    }
  }
}

/**
 * Streaming form of the same encoding, for hot paths that write known
 * shapes (tree nodes) without building an intermediate object per value.
 * Callers write a map header with the exact count of the members that follow.
 */
export class CanonicalWriter {
  private readonly w: Writer;
  /** `capacity`: the bytes to start with (it grows as needed); small for writers of a few hundred bytes. */
  constructor(capacity?: number) {
    this.w = new Writer(capacity);
  }
  mapHeader(n: number): this {
    writeLen(this.w, n, 0x80, 15, null, 0xde, 0xdf);
    return this;
  }
  arrayHeader(n: number): this {
    writeLen(this.w, n, 0x90, 15, null, 0xdc, 0xdd);
    return this;
  }
  str(v: string): this {
    writeString(this.w, v);
    return this;
  }
  int(v: number | bigint): this {
    write(this.w, v);
    return this;
  }
  bin(v: Uint8Array): this {
    write(this.w, v);
    return this;
  }
  value(v: Canonical): this {
    write(this.w, v);
    return this;
  }
  /** Appends bytes that are already canonical MessagePack (a node taken from another encoding, say). */
  raw(v: Uint8Array): this {
    this.w.bytes(v);
    return this;
  }
  finish(): Uint8Array {
    return new Uint8Array(this.w.buf.buffer, this.w.buf.byteOffset, this.w.len).slice();
  }
}

export function encodeCanonical(value: Canonical): Uint8Array {
  const w = new Writer();
  write(w, value);
  return new Uint8Array(w.buf.buffer, w.buf.byteOffset, w.len).slice();
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
