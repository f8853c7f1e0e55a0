/**
 * Tree blobs: one per directory, listing its entries with full metadata.
 * Encoded as canonical MessagePack (docs/design.md, "Trees"); entries are
 * sorted by the UTF-8 bytes of their names, so equal directories encode to
 * equal bytes and deduplicate.
 */
import { CanonicalWriter, type Canonical } from '../codec/canonical-msgpack.ts';
import type { MsgpackReader } from '../codec/msgpack-reader.ts';
import { decodeVersion1List } from './version1-list.ts';
import { RepoError, RepoErrorCode } from './errors.ts';

export const NodeType = {
  File: 'f',
  Dir: 'd',
  Symlink: 'l',
  Fifo: 'p',
  Socket: 's',
  CharDevice: 'c',
  BlockDevice: 'b',
} as const;
export type NodeType = (typeof NodeType)[keyof typeof NodeType];
const NODE_TYPES = new Set<string>(Object.values(NodeType));

export interface TreeNode {
  readonly name: string;
  readonly type: NodeType;
  /** Permission and special bits (st_mode & 0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly atimeNs: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  /** Birth time where the filesystem reports one. */
  readonly birthtimeNs?: bigint | undefined;
  readonly inode: bigint;
  readonly device: bigint;
  readonly nlink: number;
  readonly linkTarget?: string | undefined;
  readonly rdev?: bigint | undefined;
  /** Chunk IDs of a regular file, in order. */
  readonly content?: readonly Uint8Array[] | undefined;
  /** 64-bit content hash of a regular file (QuickXorHash, first 8 bytes as int64). */
  readonly hash?: bigint | undefined;
  /** Tree blob ID of a directory. */
  readonly subtree?: Uint8Array | undefined;
}

const utf8 = new TextEncoder();

/**
 * Orders names by their UTF-8 bytes, which is code point order (and SQLite's
 * BINARY collation, which the catalog's child order must match). UTF-16
 * code units below U+D800 follow code point order too; surrogates do not
 * (an astral character's units sort below U+E000..U+FFFF, and a lone one
 * encodes as U+FFFD). So names are compared unit by unit, and only a first
 * difference at a unit from U+D800 up falls back to encoding both. This
 * runs for every entry of every tree built or walked, where encoding each
 * pair cost two buffers.
 */
export function compareNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 || y >= 0xd800) return Buffer.compare(utf8.encode(a), utf8.encode(b));
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * Whether two nodes record the same entry with the same metadata: every
 * field except content, hash and subtree, which describe what is inside.
 */
export function sameMetadata(a: TreeNode, b: TreeNode): boolean {
  return (
    a.name === b.name && a.type === b.type && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && a.size === b.size &&
    a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.atimeNs === b.atimeNs && a.birthtimeNs === b.birthtimeNs &&
    a.inode === b.inode && a.device === b.device && a.nlink === b.nlink && a.linkTarget === b.linkTarget && a.rdev === b.rdev
  );
}

/** A node as canonical MessagePack (the map of §9 in docs/design.md). */
export function nodeToCanonical(n: TreeNode): Canonical {
  return {
    n: n.name,
    t: n.type,
    m: n.mode,
    u: n.uid,
    g: n.gid,
    s: n.size,
    at: n.atimeNs,
    mt: n.mtimeNs,
    ct: n.ctimeNs,
    bt: n.birthtimeNs,
    i: n.inode,
    dv: n.device,
    nl: n.nlink,
    lt: n.linkTarget,
    rd: n.rdev,
    c: n.content,
    h: n.hash,
    st: n.subtree,
  };
}

/**
 * Writes a node as the canonical map of nodeToCanonical, directly: this runs
 * once per file in every scan batch, so it skips the intermediate object.
 * Must produce exactly nodeToCanonical's bytes (checked by tests).
 */
export function writeNode(w: CanonicalWriter, n: TreeNode): void {
  const opt = [n.birthtimeNs, n.linkTarget, n.rdev, n.content, n.hash, n.subtree];
  let count = 12; // n t m u g s at mt ct i dv nl
  for (const x of opt) if (x !== undefined) count++;
  w.mapHeader(count);
  w.str('n').str(n.name).str('t').str(n.type).str('m').int(n.mode).str('u').int(n.uid).str('g').int(n.gid).str('s').int(n.size);
  w.str('at').int(n.atimeNs).str('mt').int(n.mtimeNs).str('ct').int(n.ctimeNs);
  if (n.birthtimeNs !== undefined) w.str('bt').int(n.birthtimeNs);
  w.str('i').int(n.inode).str('dv').int(n.device).str('nl').int(n.nlink);
  if (n.linkTarget !== undefined) w.str('lt').str(n.linkTarget);
  if (n.rdev !== undefined) w.str('rd').int(n.rdev);
  if (n.content !== undefined) {
    w.str('c').arrayHeader(n.content.length);
    for (const id of n.content) w.bin(id);
  }
  if (n.hash !== undefined) w.str('h').int(n.hash);
  if (n.subtree !== undefined) w.str('st').bin(n.subtree);
}

/** Encodes a directory listing. `nodes` must already be sorted with compareNames. */
export function encodeTree(nodes: readonly TreeNode[]): Uint8Array {
  const w = beginTree(nodes.length);
  for (const n of nodes) writeNode(w, n);
  return w.finish();
}

/** A tree blob's start, for a listing of `count` nodes whose encodings follow (`capacity` as CanonicalWriter's). */
export function beginTree(count: number, capacity?: number): CanonicalWriter {
  return new CanonicalWriter(capacity).mapHeader(2).str('v').int(1).str('nodes').arrayHeader(count);
}

const big = (v: unknown): bigint => (typeof v === 'bigint' ? v : BigInt(v as number));
const optBig = (v: unknown): bigint | undefined => (v === undefined || v === null ? undefined : big(v));

/** Inverse of nodeToCanonical; throws repo.corrupt on a malformed node. */
export function nodeFromCanonical(raw: Record<string, unknown>, what: string): TreeNode {
  if (typeof raw.n !== 'string' || typeof raw.t !== 'string' || !NODE_TYPES.has(raw.t)) {
    throw new RepoError(RepoErrorCode.Corrupt, `${what} has a malformed entry`);
  }
  return {
    name: raw.n,
    type: raw.t as NodeType,
    mode: Number(raw.m),
    uid: Number(raw.u),
    gid: Number(raw.g),
    size: Number(raw.s),
    atimeNs: big(raw.at),
    mtimeNs: big(raw.mt),
    ctimeNs: big(raw.ct),
    birthtimeNs: optBig(raw.bt),
    inode: big(raw.i),
    device: big(raw.dv),
    nlink: Number(raw.nl),
    linkTarget: typeof raw.lt === 'string' ? raw.lt : undefined,
    rdev: optBig(raw.rd),
    content: Array.isArray(raw.c) ? (raw.c as Uint8Array[]) : undefined,
    hash: optBig(raw.h),
    subtree: raw.st instanceof Uint8Array ? raw.st : undefined,
  };
}

/**
 * Decodes a tree blob. Read in place with MsgpackReader rather than through
 * a generic decoder: every backup reads the parent's tree of every
 * directory, and this is several times faster. Same result as
 * nodeFromCanonical over the generic decoding (checked by tests).
 */
export function decodeTree(bytes: Uint8Array, what = 'tree'): TreeNode[] {
  return decodeVersion1List(bytes, 'nodes', (item) => readNode(item, what), 'tree', what);
}

/** Key codes of MsgpackReader.keyCode for the node map's keys. */
const K = {
  n: 0x6e, t: 0x74, m: 0x6d, u: 0x75, g: 0x67, s: 0x73, at: 0x6174, mt: 0x6d74, ct: 0x6374, bt: 0x6274,
  i: 0x69, dv: 0x6476, nl: 0x6e6c, lt: 0x6c74, rd: 0x7264, c: 0x63, h: 0x68, st: 0x7374,
} as const;

const REQUIRED = new Map<number, number>([K.n, K.t, K.m, K.u, K.g, K.s, K.at, K.mt, K.ct, K.i, K.dv, K.nl].map((k, i) => [k, 1 << i]));
const ALL_REQUIRED = (1 << REQUIRED.size) - 1;

/** Reads one node map at the reader's position (trees and scan events share it). */
export function readNode(r: MsgpackReader, what: string): TreeNode {
  let name: unknown, type: unknown, linkTarget: string | undefined;
  let mode = NaN, uid = NaN, gid = NaN, size = NaN, nlink = NaN;
  let atimeNs = 0n, mtimeNs = 0n, ctimeNs = 0n, inode = 0n, device = 0n;
  let birthtimeNs: bigint | undefined, rdev: bigint | undefined, hash: bigint | undefined;
  let content: Uint8Array[] | undefined, subtree: Uint8Array | undefined;
  let seen = 0; // one bit per required key
  for (let k = r.mapHeader(); k > 0; k--) {
    const key = r.keyCode();
    if (r.nil()) continue;
    seen |= REQUIRED.get(key) ?? 0;
    switch (key) {
      case K.n: name = r.str(); break;
      case K.t: type = r.str(); break;
      case K.m: mode = r.int(); break;
      case K.u: uid = r.int(); break;
      case K.g: gid = r.int(); break;
      case K.s: size = r.int(); break;
      case K.nl: nlink = r.int(); break;
      case K.at: atimeNs = r.bigint(); break;
      case K.mt: mtimeNs = r.bigint(); break;
      case K.ct: ctimeNs = r.bigint(); break;
      case K.bt: birthtimeNs = r.bigint(); break;
      case K.i: inode = r.bigint(); break;
      case K.dv: device = r.bigint(); break;
      case K.rd: rdev = r.bigint(); break;
      case K.h: hash = r.bigint(); break;
      case K.lt: linkTarget = r.str(); break;
      case K.st: subtree = r.bin(); break;
      case K.c: {
        const n = r.arrayHeader();
        content = [];
        for (let i = 0; i < n; i++) content.push(r.bin());
        break;
      }
      default: r.skip();
    }
  }
  if (typeof name !== 'string' || typeof type !== 'string' || !NODE_TYPES.has(type) || seen !== ALL_REQUIRED) {
    throw new RepoError(RepoErrorCode.Corrupt, `${what} has a malformed entry`);
  }
  return { name, type: type as NodeType, mode, uid, gid, size, atimeNs, mtimeNs, ctimeNs, birthtimeNs, inode, device, nlink, linkTarget, rdev, content, hash, subtree };
}
