/**
 * Reading local filesystem entries into tree-node metadata.
 *
 * Special files: FIFOs, sockets and device nodes are recorded with their
 * metadata (and rdev for devices) but no content; restore recreates FIFOs and,
 * when running as root, device nodes; sockets are recorded but not recreated
 * (a socket only exists while a process listens on it).
 * Names that are not valid UTF-8 cannot be represented faithfully through
 * Node's string paths; they are reported as errors and skipped.
 */
import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import { compareNames, NodeType, type TreeNode } from '../repo/tree.ts';

export function nodeTypeOf(st: BigIntStats): NodeType {
  if (st.isFile()) return NodeType.File;
  if (st.isDirectory()) return NodeType.Dir;
  if (st.isSymbolicLink()) return NodeType.Symlink;
  if (st.isFIFO()) return NodeType.Fifo;
  if (st.isSocket()) return NodeType.Socket;
  if (st.isCharacterDevice()) return NodeType.CharDevice;
  return NodeType.BlockDevice;
}

/** Metadata part of a tree node; content, hash and subtree are filled in by the caller. */
export function nodeFromStat(name: string, st: BigIntStats, linkTarget?: string): TreeNode {
  const type = nodeTypeOf(st);
  const birth = st.birthtimeNs > 0n ? st.birthtimeNs : undefined;
  return {
    name,
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: type === NodeType.File ? Number(st.size) : 0,
    atimeNs: st.atimeNs,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
    birthtimeNs: birth,
    inode: st.ino,
    device: st.dev,
    nlink: Number(st.nlink),
    linkTarget,
    rdev: type === NodeType.CharDevice || type === NodeType.BlockDevice ? st.rdev : undefined,
  };
}

/**
 * Synchronous on purpose: a warm lstat costs about a microsecond, while an
 * async one costs tens of microseconds of thread-pool hand-offs, which made
 * metadata walks several times slower than `find`. Callers stat a bounded
 * number of entries between awaits, so the event loop still turns.
 */
export function statEntry(path: string, name: string): TreeNode {
  const st = lstatSync(path, { bigint: true });
  const target = st.isSymbolicLink() ? readlinkSync(path) : undefined;
  return nodeFromStat(name, st, target);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Characters whose UTF-16 order differs from their UTF-8 byte order (surrogates sort below U+E000..U+FFFF). */
const ORDER_DIFFERS = /[\uD800-\uFFFF]/;

/**
 * Child names of a directory, sorted by UTF-8 bytes. Names that are not
 * valid UTF-8 come back separately (lossily decoded, for error messages).
 * Synchronous like statEntry, for the same reason: one getdents loop costs
 * less than the hand-offs of an async listing. Names are read as strings;
 * only a listing with a U+FFFD in it (which an invalid name decodes to) is
 * read again as bytes to tell the two apart.
 */
export function listDir(path: string): { names: string[]; undecodable: string[] } {
  const names = readdirSync(path);
  if (names.some((n) => n.includes('\uFFFD'))) return listDirBytes(path);
  if (names.some((n) => ORDER_DIFFERS.test(n))) return { names: names.sort(compareNames), undecodable: [] };
  return { names: names.sort(), undecodable: [] };
}

function listDirBytes(path: string): { names: string[]; undecodable: string[] } {
  const raw: Buffer[] = [];
  const undecodable: string[] = [];
  for (const name of readdirSync(path, { encoding: 'buffer' })) {
    try {
      strictUtf8.decode(name);
      raw.push(name);
    } catch {
      undecodable.push(name.toString('utf8'));
    }
  }
  raw.sort(Buffer.compare);
  return { names: raw.map((b) => b.toString('utf8')), undecodable };
}
