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
 *   ["f", node, path?]     regular file; node.content present when known,
 *                          else `path` (absolute) says where to read it
 *   ["o", node]            any other entry (symlink, fifo, socket, device)
 *   ["u", node, counts]    a directory whose whole subtree is unchanged since
 *                          the parent snapshot: node.subtree is the parent's
 *                          tree ID; counts = [files, dirs, others, bytes]
 *                          inside it; its position is its exit position
 *   ["x", path, code, msg] an entry that could not be backed up
 */
import { CanonicalWriter, decodeMsgpack } from '../codec/canonical-msgpack.ts';
import { compareNames, nodeFromCanonical, writeNode, type TreeNode } from '../repo/tree.ts';
import { FerryError } from '../../protocol/errors.ts';

export type ScanEvent =
  | { readonly t: 'd'; readonly node: TreeNode }
  | { readonly t: 'e' }
  | { readonly t: 'f'; readonly node: TreeNode; readonly path?: string | undefined }
  | { readonly t: 'o'; readonly node: TreeNode }
  | { readonly t: 'u'; readonly node: TreeNode; readonly counts: SubtreeCounts }
  | { readonly t: 'x'; readonly path: string; readonly code: string; readonly message: string };

/** What an unchanged subtree holds below its directory, for the snapshot summary and progress. */
export interface SubtreeCounts {
  readonly files: number;
  readonly dirs: number;
  readonly others: number;
  readonly bytes: number;
}

/** Path components of the event's entry; an exit carries EXIT as its last component. */
export type Position = readonly string[];

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
  const w = new CanonicalWriter().arrayHeader(events.length);
  for (const e of events) {
    switch (e.t) {
      case 'd':
      case 'o':
        w.arrayHeader(2).str(e.t);
        writeNode(w, e.node);
        break;
      case 'e':
        w.arrayHeader(1).str('e');
        break;
      case 'u':
        w.arrayHeader(3).str('u');
        writeNode(w, e.node);
        w.arrayHeader(4).int(e.counts.files).int(e.counts.dirs).int(e.counts.others).int(e.counts.bytes);
        break;
      case 'f':
        w.arrayHeader(e.path === undefined ? 2 : 3).str('f');
        writeNode(w, e.node);
        if (e.path !== undefined) w.str(e.path);
        break;
      case 'x':
        w.arrayHeader(4).str('x').str(e.path).str(e.code).str(e.message);
        break;
    }
  }
  return w.finish();
}

export function decodeEvents(bytes: Uint8Array, what: string): ScanEvent[] {
  const raw = decodeMsgpack(bytes, what);
  const bad = () => new FerryError('jobs.bad-events', `${what} holds malformed scan events`);
  if (!Array.isArray(raw)) throw bad();
  return raw.map((r: unknown): ScanEvent => {
    if (!Array.isArray(r)) throw bad();
    const node = () => nodeFromCanonical((r[1] ?? {}) as Record<string, unknown>, what);
    switch (r[0]) {
      case 'd':
        return { t: 'd', node: node() };
      case 'o':
        return { t: 'o', node: node() };
      case 'e':
        return { t: 'e' };
      case 'u': {
        const c = r[2];
        const n = node();
        if (!Array.isArray(c) || c.length !== 4 || !c.every((x) => Number.isSafeInteger(Number(x)) && Number(x) >= 0) || !(n.subtree instanceof Uint8Array)) throw bad();
        return { t: 'u', node: n, counts: { files: Number(c[0]), dirs: Number(c[1]), others: Number(c[2]), bytes: Number(c[3]) } };
      }
      case 'f':
        return { t: 'f', node: node(), path: typeof r[2] === 'string' ? r[2] : undefined };
      case 'x':
        return { t: 'x', path: String(r[1]), code: String(r[2]), message: String(r[3]) };
      default:
        throw bad();
    }
  });
}
