/**
 * A cursor over MessagePack bytes for decoders that know the shape they
 * expect (tree blobs, read once per directory in every backup). It reads
 * values in place, without building a generic object first. Any conforming
 * encoding of a value is accepted, not only the canonical one.
 *
 * Contract: every read checks the type byte and the bounds and throws
 * MsgpackShapeError on a mismatch or truncation; the caller turns that into
 * its own "corrupt" error naming what it was reading.
 */

export class MsgpackShapeError extends Error {}

const { utf8Slice } = Buffer.prototype as unknown as { utf8Slice: (this: Uint8Array, start: number, end: number) => string };

export class MsgpackReader {
  pos = 0;
  private readonly b: Uint8Array;
  private readonly view: DataView;

  constructor(bytes: Uint8Array) {
    this.b = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.b.length;
  }

  /** The buffer the reader reads (its position is `pos`), for callers that scan a value themselves. */
  get bytes(): Uint8Array {
    return this.b;
  }

  private need(n: number): void {
    if (this.pos + n > this.b.length) throw new MsgpackShapeError('truncated');
  }

  private byte(): number {
    this.need(1);
    return this.b[this.pos++]!;
  }

  private u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  private u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  mapHeader(): number {
    return this.containerHeader(0x80, 0xde, 0xdf, 'a map');
  }

  arrayHeader(): number {
    return this.containerHeader(0x90, 0xdc, 0xdd, 'an array');
  }

  /** Entry count of a map or array: a fix type (`fix` | count), or a 16- or 32-bit count after its type byte. */
  private containerHeader(fix: number, t16: number, t32: number, expected: string): number {
    const t = this.byte();
    if ((t & 0xf0) === fix) return t & 0x0f;
    if (t === t16) return this.u16();
    if (t === t32) return this.u32();
    throw new MsgpackShapeError(`expected ${expected}`);
  }

  /** Length of the string that follows; the cursor is then at its first byte. */
  private strLength(): number {
    const t = this.byte();
    if (t >= 0xa0 && t <= 0xbf) return t & 0x1f;
    if (t === 0xd9) return this.byte();
    if (t === 0xda) return this.u16();
    if (t === 0xdb) return this.u32();
    throw new MsgpackShapeError('expected a string');
  }

  str(): string {
    const n = this.strLength();
    this.need(n);
    const s = utf8Slice.call(this.b, this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /**
   * A short ASCII key as a number (its bytes, big-endian), so callers can
   * switch on keys without making strings: "n" is 0x6e, "at" is 0x6174.
   * Keys longer than 3 bytes come back as -1 (after being skipped).
   */
  keyCode(): number {
    const n = this.strLength();
    this.need(n);
    let code = n > 3 ? -1 : 0;
    if (n <= 3) for (let i = 0; i < n; i++) code = (code << 8) | this.b[this.pos + i]!;
    this.pos += n;
    return code;
  }

  /** A view of the bin's bytes (it shares the reader's buffer). */
  bin(): Uint8Array {
    const t = this.byte();
    const n = t === 0xc4 ? this.byte() : t === 0xc5 ? this.u16() : t === 0xc6 ? this.u32() : -1;
    if (n < 0) throw new MsgpackShapeError('expected bytes');
    this.need(n);
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** An integer as a bigint, whatever width it was written in. */
  bigint(): bigint {
    const t = this.b[this.pos];
    if (t === 0xcf || t === 0xd3) {
      this.pos++;
      this.need(8);
      const v = t === 0xcf ? this.view.getBigUint64(this.pos) : this.view.getBigInt64(this.pos);
      this.pos += 8;
      return v;
    }
    return BigInt(this.int());
  }

  /** An integer that fits a double exactly (up to 2^53 in magnitude). */
  int(): number {
    const t = this.byte();
    if (t <= 0x7f) return t;
    if (t >= 0xe0) return t - 0x100;
    switch (t) {
      case 0xcc: return this.byte();
      case 0xcd: return this.u16();
      case 0xce: return this.u32();
      case 0xd0: return (this.byte() << 24) >> 24;
      case 0xd1: return (this.u16() << 16) >> 16;
      case 0xd2: return this.u32() | 0;
      case 0xca:
      case 0xcb: {
        // Not canonical, but other encoders write large integers as floats.
        this.need(t === 0xca ? 4 : 8);
        const v = t === 0xca ? this.view.getFloat32(this.pos) : this.view.getFloat64(this.pos);
        this.pos += t === 0xca ? 4 : 8;
        if (!Number.isSafeInteger(v)) throw new MsgpackShapeError('expected an integer');
        return v;
      }
      case 0xcf:
      case 0xd3: {
        this.pos--;
        const v = this.bigint();
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new MsgpackShapeError('integer too large');
        return Number(v);
      }
      default:
        throw new MsgpackShapeError('expected an integer');
    }
  }

  /** A boolean (true or false; nothing else). */
  bool(): boolean {
    const t = this.byte();
    if (t === 0xc3) return true;
    if (t === 0xc2) return false;
    this.pos--;
    throw new MsgpackShapeError('expected a boolean');
  }

  /** True (and consumed) when the next value is nil. */
  nil(): boolean {
    if (this.b[this.pos] !== 0xc0) return false;
    this.pos++;
    return true;
  }

  /** Skips one value of any type. */
  skip(): void {
    const t = this.byte();
    if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) return;
    if (t >= 0x80 && t <= 0x8f) return this.skipN((t & 0x0f) * 2);
    if (t >= 0x90 && t <= 0x9f) return this.skipN(t & 0x0f);
    if (t >= 0xa0 && t <= 0xbf) return this.advance(t & 0x1f);
    switch (t) {
      case 0xc4: case 0xd9: return this.advance(this.byte());
      case 0xc5: case 0xda: return this.advance(this.u16());
      case 0xc6: case 0xdb: return this.advance(this.u32());
      case 0xcc: case 0xd0: return this.advance(1);
      case 0xcd: case 0xd1: return this.advance(2);
      case 0xce: case 0xd2: case 0xca: return this.advance(4);
      case 0xcf: case 0xd3: case 0xcb: return this.advance(8);
      case 0xd4: return this.advance(2);
      case 0xd5: return this.advance(3);
      case 0xd6: return this.advance(5);
      case 0xd7: return this.advance(9);
      case 0xd8: return this.advance(17);
      case 0xc7: return this.advance(this.byte() + 1);
      case 0xc8: return this.advance(this.u16() + 1);
      case 0xc9: return this.advance(this.u32() + 1);
      case 0xdc: return this.skipN(this.u16());
      case 0xdd: return this.skipN(this.u32());
      case 0xde: return this.skipN(this.u16() * 2);
      case 0xdf: return this.skipN(this.u32() * 2);
      default: throw new MsgpackShapeError(`unknown type byte 0x${t.toString(16)}`);
    }
  }

  private skipN(n: number): void {
    for (let i = 0; i < n; i++) this.skip();
  }

  private advance(n: number): void {
    this.need(n);
    this.pos += n;
  }
}

/**
 * Reads all of `bytes` with `read`. A shape error, or bytes left over after
 * `read`, becomes the caller's own error through `fail` (with the shape
 * error as its cause); other errors pass through.
 */
export function readWhole<T>(bytes: Uint8Array, read: (r: MsgpackReader) => T, fail: (problem: string, cause: MsgpackShapeError) => Error): T {
  const r = new MsgpackReader(bytes);
  try {
    const value = read(r);
    if (!r.done) throw new MsgpackShapeError('bytes after the end');
    return value;
  } catch (err) {
    if (err instanceof MsgpackShapeError) throw fail(err.message, err);
    throw err;
  }
}

/**
 * Reads a map `{ v: version, [listKey]: [item, ...] }`, skipping other
 * keys: the shape of tree blobs and index files. Either part is undefined
 * when the map lacks it; the caller decides what that means.
 */
export function readVersionedList<T>(r: MsgpackReader, listKey: string, readItem: (r: MsgpackReader) => T): { version: number | undefined; items: T[] | undefined } {
  let version: number | undefined;
  let items: T[] | undefined;
  for (let k = r.mapHeader(); k > 0; k--) {
    const key = r.str();
    if (key === 'v') version = r.int();
    else if (key === listKey) {
      items = [];
      for (let n = r.arrayHeader(); n > 0; n--) items.push(readItem(r));
    } else r.skip();
  }
  return { version, items };
}
