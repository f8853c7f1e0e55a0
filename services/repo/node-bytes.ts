/**
 * Tree nodes kept as the bytes a tree blob holds, for code that passes
 * nodes along without looking inside them: uploaders append a file's
 * content to the node the scanner wrote, and the finalizer builds every
 * tree of a backup from the nodes in the uploaders' fragments and from runs
 * of the parent's trees. Neither needs each node decoded into an object
 * (five BigInts, an array of IDs, strings) only to encode it again.
 *
 * Contract: `bytes` is always the canonical encoding (writeNode's bytes) of
 * the node that readNode would decode from the input. Input already in that
 * form, which is what Ferry writes, is only checked and passed on; anything
 * else (another encoder's shortest-form slips, nil members, unknown keys,
 * keys out of order) is decoded and written again, and malformed input
 * throws as readNode throws.
 */
import { CanonicalWriter } from '../codec/canonical-msgpack.ts';
import { MsgpackReader } from '../codec/msgpack-reader.ts';
import { NodeType, readNode, writeNode, type TreeNode } from './tree.ts';

export interface NodeBytes {
  readonly name: string;
  readonly type: NodeType;
  readonly size: number;
  readonly hasContent: boolean;
  readonly hasHash: boolean;
  readonly hasSubtree: boolean;
  /** The canonical encoding; may be a view into the caller's buffer. */
  readonly bytes: Uint8Array;
}

/** Reads one node map at the reader's position, as NodeBytes. */
export function readNodeBytes(r: MsgpackReader, what: string): NodeBytes {
  const skim = skimCanonical(r.bytes, r.pos);
  if (skim === undefined) return nodeBytesOf(readNode(r, what));
  r.pos += skim.bytes.length;
  return skim;
}

/** A decoded node as NodeBytes. */
export function nodeBytesOf(n: TreeNode): NodeBytes {
  const w = new CanonicalWriter(256);
  writeNode(w, n);
  return { name: n.name, type: n.type, size: n.size, hasContent: n.content !== undefined, hasHash: n.hash !== undefined, hasSubtree: n.subtree !== undefined, bytes: w.finish() };
}

/** File node `file` with its size, content and hash set, as NodeBytes. */
export function withContent(file: NodeBytes, size: number, content: readonly Uint8Array[], hash: bigint, what: string): NodeBytes {
  if (size !== file.size || file.hasContent || file.hasHash || file.hasSubtree) {
    return nodeBytesOf({ ...readNode(new MsgpackReader(file.bytes), what), size, content, hash });
  }
  // "c" and "h" sort after every key a file node from a scan has.
  const bytes = withMembersAfter(file.bytes, 2, 48 + 35 * content.length, (w) => {
    w.str('c').arrayHeader(content.length);
    for (const id of content) w.bin(id);
    w.str('h').int(hash);
  });
  return { ...file, hasContent: true, hasHash: true, bytes };
}

/** The canonical encoding of directory node `dir` with its subtree set to `id`. */
export function withSubtree(dir: NodeBytes, id: Uint8Array, what: string): Uint8Array {
  if (dir.hasSubtree) return nodeBytesOf({ ...readNode(new MsgpackReader(dir.bytes), what), subtree: id }).bytes;
  // "st" sorts last among a node's keys, so it goes after everything the node has.
  return withMembersAfter(dir.bytes, 1, 48, (w) => void w.str('st').bin(id));
}

/**
 * Canonical node `bytes` with `added` more members, which `write` appends
 * (in canonical order, and after every key the node has); `extra` is about
 * how many bytes they take.
 */
function withMembersAfter(bytes: Uint8Array, added: number, extra: number, write: (w: CanonicalWriter) => void): Uint8Array {
  const r = new MsgpackReader(bytes);
  const count = r.mapHeader();
  const w = new CanonicalWriter(bytes.length + extra).mapHeader(count + added).raw(bytes.subarray(r.pos));
  write(w);
  return w.finish();
}

/* ---- The canonical check: one pass over the bytes, allocating only the result, its view and the name. ---- */

const { utf8Slice } = Buffer.prototype as unknown as { utf8Slice: (this: Uint8Array, start: number, end: number) => string };

/** A node's keys in canonical order (writeNode's), coded as MsgpackReader.keyCode codes them. */
const KEY_CODES = [0x6e, 0x74, 0x6d, 0x75, 0x67, 0x73, 0x6174, 0x6d74, 0x6374, 0x6274, 0x69, 0x6476, 0x6e6c, 0x6c74, 0x7264, 0x63, 0x68, 0x7374];
/** Positions in that order of the keys the skim treats specially. */
const K = { n: 0, t: 1, m: 2, u: 3, g: 4, s: 5, nl: 12, lt: 13, c: 15, h: 16, st: 17 } as const;
/** The keys readNode requires: n t m u g s at mt ct i dv nl. */
const REQUIRED = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12].reduce((m, k) => m | (1 << k), 0);
/** Keys readNode reads as numbers, which it refuses beyond 2^53; the rest are bigints. */
const NUMBER_KEYS = (1 << K.m) | (1 << K.u) | (1 << K.g) | (1 << K.s) | (1 << K.nl);
const TYPES = new Map<number, NodeType>(Object.values(NodeType).map((t) => [t.charCodeAt(0), t]));

/** A cursor over one node's bytes; every read returns a failure value unless the bytes are in canonical form. */
class Cursor {
  p = 0;
  b: Uint8Array = new Uint8Array(0);
  /** Starts over at position `p` of `b` (one cursor serves every skim: they never nest). */
  at(b: Uint8Array, p: number): this {
    this.b = b;
    this.p = p;
    return this;
  }
  private u(width: number): number {
    let v = 0;
    for (let i = 0; i < width; i++) v = v * 256 + this.b[this.p + i]!;
    this.p += width;
    return v;
  }
  /** A length as CanonicalWriter's writeLen writes it (fix form unless `fixMax` is -1, then 8-bit if `c8` >= 0, 16- and 32-bit), or -1. */
  len(fix: number, fixMax: number, c8: number, c16: number, c32: number): number {
    const b = this.b;
    if (this.p >= b.length) return -1;
    const t = b[this.p++]!;
    if (t >= fix && t <= fix + fixMax) return t - fix;
    const width = t === c8 ? 1 : t === c16 ? 2 : t === c32 ? 4 : 0;
    if (width === 0 || this.p + width > b.length) return -1;
    const n = this.u(width);
    const least = width === 1 ? fixMax + 1 : width === 2 ? (c8 >= 0 ? 256 : fixMax + 1) : 65536;
    return n >= least ? n : -1;
  }
  /** A string (`decode`) or true, or false unless its UTF-8 is exactly what encoding the decoded string gives. */
  str(decode: boolean): string | boolean {
    const n = this.len(0xa0, 31, 0xd9, 0xda, 0xdb);
    if (n < 0 || this.p + n > this.b.length) return false;
    const start = this.p;
    this.p += n;
    let ascii = true;
    for (let i = start; i < this.p; i++) {
      if (this.b[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (!decode && ascii) return true;
    const s = utf8Slice.call(this.b, start, this.p);
    if (!ascii && Buffer.compare(Buffer.from(s, 'utf8'), this.b.subarray(start, this.p)) !== 0) return false;
    return decode ? s : true;
  }
  /** An integer in its shortest form: its value, NaN beyond 2^53 in magnitude; undefined if not canonical. */
  int(): number | undefined {
    const b = this.b;
    if (this.p >= b.length) return undefined;
    const t = b[this.p++]!;
    if (t <= 0x7f) return t;
    if (t >= 0xe0) return t - 0x100;
    const width = INT_WIDTH.get(t);
    if (width === undefined || this.p + width > b.length) return undefined;
    let v: number;
    if (width === 8) {
      // As two halves: a double holds 64 bits only to 53, and the checks need them exactly.
      const hi = this.u(4);
      const lo = this.u(4);
      if (t === 0xcf) {
        if (hi === 0) return undefined; // fits 32 bits
        v = hi * 2 ** 32 + lo;
      } else {
        if (hi < 0x80000000 || (hi === 0xffffffff && lo >= 0x80000000)) return undefined; // not below -2^31
        v = (hi - 2 ** 32) * 2 ** 32 + lo;
      }
    } else {
      v = this.u(width);
      if (t >= 0xd0) {
        if (v >= 2 ** (8 * width - 1)) v -= 2 ** (8 * width);
        if (!(v < SIGNED_BELOW.get(t)!)) return undefined;
      } else if (v < UNSIGNED_FROM.get(t)!) return undefined;
    }
    return Math.abs(v) > Number.MAX_SAFE_INTEGER ? NaN : v;
  }
  /** Skips a bin (8-, 16- or 32-bit length, the shortest that fits), or returns false. */
  bin(): boolean {
    const n = this.len(0, -1, 0xc4, 0xc5, 0xc6); // no fix form
    if (n < 0 || this.p + n > this.b.length) return false;
    this.p += n;
    return true;
  }
  /** A key of one to three ASCII bytes, coded as MsgpackReader.keyCode codes it, or -1. */
  key(): number {
    const b = this.b;
    const t = b[this.p];
    if (t === undefined || t < 0xa1 || t > 0xa3 || this.p + 1 + (t & 0x1f) > b.length) return -1;
    let code = 0;
    for (let i = 1; i <= (t & 0x1f); i++) code = (code << 8) | b[this.p + i]!;
    this.p += 1 + (t & 0x1f);
    return code;
  }
}

const INT_WIDTH = new Map([[0xcc, 1], [0xcd, 2], [0xce, 4], [0xcf, 8], [0xd0, 1], [0xd1, 2], [0xd2, 4], [0xd3, 8]]);
/** Unsigned forms are canonical from these values up, signed ones below these (canonical-msgpack's writeSmallInt and writeInt). */
const UNSIGNED_FROM = new Map([[0xcc, 0x80], [0xcd, 0x100], [0xce, 0x10000]]);
const SIGNED_BELOW = new Map([[0xd0, -32], [0xd1, -128], [0xd2, -32768]]);

const KEY_INDEX = new Map<number, number>(KEY_CODES.map((k, i) => [k, i]));

const cursor = new Cursor();
const NO_BYTES = new Uint8Array(0);

/** The node at position `start` of `b` (a view of its bytes) if it is in canonical form, else undefined. */
function skimCanonical(b: Uint8Array, start: number): NodeBytes | undefined {
  const node = skim(cursor.at(b, start), start);
  cursor.at(NO_BYTES, 0); // not to keep the batch alive
  return node;
}

function skim(c: Cursor, start: number): NodeBytes | undefined {
  const b = c.b;
  const count = c.len(0x80, 15, -1, 0xde, 0xdf);
  if (count < 0) return undefined;
  let name: string | undefined;
  let type: NodeType | undefined;
  let size = NaN;
  let seen = 0;
  let prev = -1;
  for (let k = 0; k < count; k++) {
    const key = KEY_INDEX.get(c.key());
    if (key === undefined || key <= prev) return undefined;
    prev = key;
    seen |= 1 << key;
    switch (key) {
      case K.n: {
        const s = c.str(true);
        if (typeof s !== 'string') return undefined;
        name = s;
        break;
      }
      case K.t: {
        if (c.b[c.p] !== 0xa1) return undefined;
        type = TYPES.get(c.b[c.p + 1] ?? -1);
        if (type === undefined) return undefined;
        c.p += 2;
        break;
      }
      case K.lt:
        if (c.str(false) !== true) return undefined;
        break;
      case K.c: {
        const n = c.len(0x90, 15, -1, 0xdc, 0xdd);
        if (n < 0) return undefined;
        for (let i = 0; i < n; i++) if (!c.bin()) return undefined;
        break;
      }
      case K.st:
        if (!c.bin()) return undefined;
        break;
      default: {
        const v = c.int();
        // Beyond 2^53 readNode throws for these, which the slow path then reports.
        if (v === undefined || (((1 << key) & NUMBER_KEYS) !== 0 && Number.isNaN(v))) return undefined;
        if (key === K.s) size = v;
      }
    }
  }
  if ((seen & REQUIRED) !== REQUIRED || name === undefined || type === undefined) return undefined;
  return { name, type, size, hasContent: (seen & (1 << K.c)) !== 0, hasHash: (seen & (1 << K.h)) !== 0, hasSubtree: (seen & (1 << K.st)) !== 0, bytes: b.subarray(start, c.p) };
}
