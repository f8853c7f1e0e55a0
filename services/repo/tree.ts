/**
 * Tree blobs: one per directory, listing its entries with full metadata.
 * Encoded as canonical MessagePack (docs/design.md, "Trees"); entries are
 * sorted by the UTF-8 bytes of their names, so equal directories encode to
 * equal bytes and deduplicate.
 */
import { CanonicalWriter, decodeMsgpack, type Canonical } from '../codec/canonical-msgpack.ts';
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
export const compareNames = (a: string, b: string): number => Buffer.compare(utf8.encode(a), utf8.encode(b));

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
  const w = new CanonicalWriter().mapHeader(2).str('v').int(1).str('nodes').arrayHeader(nodes.length);
  for (const n of nodes) writeNode(w, n);
  return w.finish();
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

export function decodeTree(bytes: Uint8Array, what = 'tree'): TreeNode[] {
  const o = decodeMsgpack(bytes, what) as { v?: unknown; nodes?: unknown };
  if (o.v !== 1 || !Array.isArray(o.nodes)) throw new RepoError(RepoErrorCode.Corrupt, `${what} is not a version 1 tree`);
  return o.nodes.map((raw: Record<string, unknown>) => nodeFromCanonical(raw, what));
}
