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
import { loadContentAddon } from '../repo/content-addon.ts';
import { childPath } from '../repo/safe-name.ts';

/** The node type from the type bits of st_mode (anything else counts as a block device). */
function nodeTypeOfMode(mode: number): NodeType {
  switch (mode & 0o170000) {
    case 0o100000: return NodeType.File;
    case 0o040000: return NodeType.Dir;
    case 0o120000: return NodeType.Symlink;
    case 0o010000: return NodeType.Fifo;
    case 0o140000: return NodeType.Socket;
    case 0o020000: return NodeType.CharDevice;
    default: return NodeType.BlockDevice;
  }
}

/** Metadata part of a tree node; content, hash and subtree are filled in by the caller. */
export function nodeFromStat(name: string, st: BigIntStats, linkTarget?: string): TreeNode {
  const type = nodeTypeOfMode(Number(st.mode));
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

/** Most names statEntries() passes to the addon at once; its output arrays are reused. */
const BATCH = 256;
const batchOut = { nums: new Float64Array(5 * BATCH), bigs: new BigInt64Array(7 * BATCH), errs: new Int32Array(BATCH) };

/**
 * statEntry() for many entries of one directory: the same nodes, or for an
 * entry that cannot be read the error statEntry() throws. Through the
 * native addon when it is built (one statx per entry relative to the
 * directory, and about a third of the BigInts: Stats objects were a tenth
 * of a walk's allocations), else one statEntry() per name. Interleaved
 * against statEntry() per name: no-change backups of the mixed corpus 6%
 * faster (6 pairs), of the 200,000 tiny files 9% (4 pairs), backups after
 * mutate 3% (3 pairs).
 */
export function statEntries(dir: string, names: readonly string[]): (TreeNode | { readonly error: unknown })[] {
  const { addon } = loadContentAddon();
  const out: (TreeNode | { readonly error: unknown })[] = [];
  const one = (name: string): TreeNode | { readonly error: unknown } => {
    try {
      return statEntry(childPath(dir, name), name);
    } catch (error) {
      return { error };
    }
  };
  if (addon === undefined) return names.map(one);
  const { nums, bigs, errs } = batchOut;
  for (let from = 0; from < names.length; from += BATCH) {
    const part = names.length <= BATCH ? names : names.slice(from, from + BATCH);
    addon.lstatBatch(dir, part, nums, bigs, errs);
    for (let i = 0; i < part.length; i++) {
      const name = part[i]!;
      if (errs[i] !== 0) {
        out.push(one(name)); // Node's own lstat, for its error (or the entry, if it came back meanwhile)
        continue;
      }
      const mode = nums[5 * i]!;
      const type = nodeTypeOfMode(mode);
      const birth = bigs[7 * i + 3]!;
      out.push({
        name,
        type,
        mode: mode & 0o7777,
        uid: nums[5 * i + 1]!,
        gid: nums[5 * i + 2]!,
        size: type === NodeType.File ? nums[5 * i + 3]! : 0,
        atimeNs: bigs[7 * i]!,
        mtimeNs: bigs[7 * i + 1]!,
        ctimeNs: bigs[7 * i + 2]!,
        birthtimeNs: birth > 0n ? birth : undefined,
        // Signed, as Node reads them (its BigIntStats come from a BigInt64Array too).
        inode: bigs[7 * i + 4]!,
        device: bigs[7 * i + 5]!,
        nlink: nums[5 * i + 4]!,
        linkTarget: type === NodeType.Symlink ? readlinkSync(childPath(dir, name)) : undefined,
        rdev: type === NodeType.CharDevice || type === NodeType.BlockDevice ? bigs[7 * i + 6]! : undefined,
      });
    }
  }
  return out;
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
