/**
 * The event stream of a scan: a depth-first walk of the selected tree as
 * enter-directory, entry and exit-directory events, in name order. The
 * scanner cuts it into batches; uploaders fill in file content; the
 * finalizer replays the whole stream to build tree blobs. Because the
 * stream is ordered, every event has a position, and a scan can resume after
 * the last position it published.
 *
 * Encoding (canonical MessagePack, inside work.upload messages and
 * fragments): an array of events, each an array:
 *   ["d", node]            enter directory (node without subtree)
 *   ["e"]                  exit the current directory
 *   ["f", node, path?, ahead?]
 *                          regular file; node.content present when known,
 *                          else `path` (absolute) says where to read it;
 *                          ahead = true: the file was sent ahead as its own
 *                          work item (files-ahead.ts), whose fragment the
 *                          finalizer takes its content from
 *   ["o", node]            any other entry (symlink, fifo, socket, device)
 *   ["u", node, counts]    a directory whose whole subtree is unchanged since
 *                          the parent snapshot: node.subtree is the parent's
 *                          tree ID; counts = [files, dirs, others, bytes]
 *                          inside it; its position is its exit position
 *   ["k", tree, first, count, counts]
 *                          `count` entries of the current directory that are
 *                          the parent snapshot's nodes first..first+count-1
 *                          of tree `tree`, unchanged; counts = [files, dirs,
 *                          others, bytes] of those entries and all below
 *                          them; its position is its last entry's
 *   ["x", path, code, msg] an entry that could not be backed up
 */
import { CanonicalWriter } from '../codec/canonical-msgpack.ts';
import { readWhole, type MsgpackReader } from '../codec/msgpack-reader.ts';
import { compareNames, readNode, writeNode, type TreeNode } from '../repo/tree.ts';
import { readNodeBytes, type NodeBytes } from '../repo/node-bytes.ts';
import { FerryError } from '../../protocol/errors.ts';

/** A scan event whose nodes are of type N: decoded objects (ScanEvent), or their bytes (uploaders and the finalizer). */
export type ScanEventOf<N> =
  | { readonly t: 'd'; readonly node: N }
  | { readonly t: 'e' }
  | { readonly t: 'f'; readonly node: N; readonly path?: string | undefined; readonly ahead?: boolean | undefined }
  | { readonly t: 'o'; readonly node: N }
  | { readonly t: 'u'; readonly node: N; readonly counts: SubtreeCounts }
  | { readonly t: 'k'; readonly tree: Uint8Array; readonly first: number; readonly count: number; readonly counts: SubtreeCounts }
  | { readonly t: 'x'; readonly path: string; readonly code: string; readonly message: string };

export type ScanEvent = ScanEventOf<TreeNode>;

/** How events' nodes of type N are read and written, and whether one has a subtree (a "u" event's must). */
export interface NodeCodec<N> {
  read(r: MsgpackReader, what: string): N;
  write(w: CanonicalWriter, node: N): void;
  hasSubtree(node: N): boolean;
}

/** Nodes as objects: what the scanner builds and tests write. */
export const treeNodes: NodeCodec<TreeNode> = { read: readNode, write: writeNode, hasSubtree: (n) => n.subtree instanceof Uint8Array };
/** Nodes as their canonical bytes: what uploaders and the finalizer pass on without looking inside. */
export const nodeBytes: NodeCodec<NodeBytes> = { read: readNodeBytes, write: (w, n) => void w.raw(n.bytes), hasSubtree: (n) => n.hasSubtree };

/** What an unchanged subtree holds below its directory, for the snapshot summary and progress. */
export interface SubtreeCounts {
  readonly files: number;
  readonly dirs: number;
  readonly others: number;
  readonly bytes: number;
}

/** Blob IDs are 32 bytes (docs/design.md §4). */
const ID_BYTES = 32;

const writeCounts = (w: CanonicalWriter, c: SubtreeCounts): void => void w.arrayHeader(4).int(c.files).int(c.dirs).int(c.others).int(c.bytes);

type RunningCounts = { files: number; dirs: number; others: number; bytes: number };

/** Adds counts `c` to running counts. */
export function addCounts(into: RunningCounts, c: SubtreeCounts): void {
  into.dirs += c.dirs;
  into.files += c.files;
  into.others += c.others;
  into.bytes += c.bytes;
}

/** Adds a directory and what its subtree holds (`sub`) to running counts. */
export function addSubtree(into: RunningCounts, sub: SubtreeCounts): void {
  into.dirs += 1;
  addCounts(into, sub);
}

/** Path components of the event's entry; an exit carries EXIT as its last component. */
export type Position = readonly string[];

/** An event with its position in the walk. */
export interface WalkItem {
  readonly event: ScanEvent;
  readonly pos: Position;
}

/** Sorts after every name: no name may contain '/'. */
export const EXIT = '/';

export function comparePositions(a: Position, b: Position): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (x === EXIT) return 1;
    if (y === EXIT) return -1;
    return compareNames(x, y);
  }
  return a.length - b.length;
}

export function encodeEvents(events: readonly ScanEvent[]): Uint8Array {
  return encodeEventsWith(events, treeNodes);
}

/** encodeEvents with nodes written by `nodes`. */
export function encodeEventsWith<N>(events: readonly ScanEventOf<N>[], nodes: NodeCodec<N>): Uint8Array {
  const w = new CanonicalWriter().arrayHeader(events.length);
  for (const e of events) {
    switch (e.t) {
      case 'd':
      case 'o':
        w.arrayHeader(2).str(e.t);
        nodes.write(w, e.node);
        break;
      case 'e':
        w.arrayHeader(1).str('e');
        break;
      case 'u':
        w.arrayHeader(3).str('u');
        nodes.write(w, e.node);
        writeCounts(w, e.counts);
        break;
      case 'k':
        w.arrayHeader(5).str('k').bin(e.tree).int(e.first).int(e.count);
        writeCounts(w, e.counts);
        break;
      case 'f':
        w.arrayHeader(e.path === undefined ? 2 : e.ahead === true ? 4 : 3).str('f');
        nodes.write(w, e.node);
        if (e.path !== undefined) w.str(e.path);
        if (e.path !== undefined && e.ahead === true) w.value(true);
        break;
      case 'x':
        w.arrayHeader(4).str('x').str(e.path).str(e.code).str(e.message);
        break;
    }
  }
  return w.finish();
}

/**
 * Decodes a batch of scan events. Read in place with MsgpackReader, as tree
 * blobs are: every file record of a backup passes through here twice (the
 * uploader and the finalizer, both of which keep nodes as bytes). Fields
 * after the ones an event kind defines are skipped, so a later version may
 * add some.
 */
export function decodeEvents(bytes: Uint8Array, what: string): ScanEvent[] {
  return decodeEventsWith(bytes, what, treeNodes);
}

/** decodeEvents with nodes read by `nodes`. */
export function decodeEventsWith<N>(bytes: Uint8Array, what: string, nodes: NodeCodec<N>): ScanEventOf<N>[] {
  const bad = (cause?: unknown) => new FerryError('jobs.bad-events', `${what} holds malformed scan events`, { cause });
  return readWhole(bytes, (r) => {
    const readCounts = (): SubtreeCounts => {
      if (r.arrayHeader() !== 4) throw bad();
      const counts = { files: r.int(), dirs: r.int(), others: r.int(), bytes: r.int() };
      if (Object.values(counts).some((c) => !Number.isSafeInteger(c) || c < 0)) throw bad();
      return counts;
    };
    const out: ScanEventOf<N>[] = [];
    for (let n = r.arrayHeader(); n > 0; n--) {
      const fields = r.arrayHeader();
      const need = (k: number): void => {
        if (fields < k) throw bad();
      };
      need(1);
      const t = r.str();
      let used: number;
      switch (t) {
        case 'd':
        case 'o':
          need(2);
          out.push({ t, node: nodes.read(r, what) });
          used = 2;
          break;
        case 'e':
          out.push({ t: 'e' });
          used = 1;
          break;
        case 'f': {
          need(2);
          const node = nodes.read(r, what);
          const path = fields >= 3 && !r.nil() ? r.str() : undefined;
          const ahead = fields >= 4 && r.bool();
          if (ahead && path === undefined) throw bad(); // sent ahead, yet nowhere to read
          out.push(ahead ? { t: 'f', node, path, ahead } : { t: 'f', node, path });
          used = Math.min(fields, 4);
          break;
        }
        case 'u': {
          need(3);
          const node = nodes.read(r, what);
          const counts = readCounts();
          if (!nodes.hasSubtree(node)) throw bad();
          out.push({ t: 'u', node, counts });
          used = 3;
          break;
        }
        case 'k': {
          need(5);
          const tree = r.bin();
          const first = r.int();
          const count = r.int();
          const counts = readCounts();
          if (tree.length !== ID_BYTES || !Number.isSafeInteger(first) || first < 0 || !Number.isSafeInteger(count) || count < 1) throw bad();
          out.push({ t: 'k', tree, first, count, counts });
          used = 5;
          break;
        }
        case 'x':
          need(4);
          out.push({ t: 'x', path: r.str(), code: r.str(), message: r.str() });
          used = 4;
          break;
        default:
          throw bad();
      }
      for (let extra = fields - used; extra > 0; extra--) r.skip();
    }
    return out;
  }, (_problem, cause) => bad(cause));
}
