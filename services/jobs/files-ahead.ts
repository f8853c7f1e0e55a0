/**
 * Files sent ahead. The walk reaches a directory's files only after the
 * subdirectories that sort before them, so a large file changed at the top
 * of a tree (the root's disk images, say) used to be read only at the end
 * of the walk, by the last batch, while the uploaders had sat idle through
 * the walk. A file that must be read and holds at least AHEAD_BYTES is
 * therefore published on its own, as a `work.upload-file` item, as soon as
 * the walk lists its directory; any uploader reads it then, and records a
 * fragment of its own under the file's key. The batch that later names the
 * file carries it marked `ahead`: that batch's uploader leaves it, and the
 * finalizer takes its content from the file's fragment (joinAhead).
 *
 * The key is a hash of the path and the scanned node's bytes, so both sides
 * compute it from what they hold, and a file that changed between a
 * crashed scan and its resumption is a different item. An item whose batch
 * never names it (the scan resumed and saw the file differently) only costs
 * the read: its blobs are stored like any others, and its fragment expires
 * with the bucket's age limit.
 *
 * Below AHEAD_BYTES a file stays in its batch: each item is made durable on
 * its own (its open pack closed, an index file written), which smaller
 * files would pay too often for, and a batch already holds up to 64 MiB.
 */
import { createHash } from 'node:crypto';
import type { TreeNode } from '../repo/tree.ts';
import { nodeBytesOf, type NodeBytes } from '../repo/node-bytes.ts';
import { FerryError } from '../../protocol/errors.ts';
import { decodeEventsWith, encodeEventsWith, nodeBytes, type ScanEventOf } from './scan-events.ts';

/** Files to read of at least this many bytes are sent ahead. */
export const AHEAD_BYTES = 32 * 1024 * 1024;

/** Where the walk sends files ahead (scan-walker's WalkOptions.sendAhead). */
export interface SendAhead {
  /** Files to read of at least this many bytes are sent. */
  readonly minBytes: number;
  /** Called while the walk lists the file's directory; must not throw. `node` is the walk's and must not be kept. */
  send(path: string, node: TreeNode): void;
}

/** A file's key within its job: 128 bits of SHA-256(path ‖ 0 ‖ node bytes), in hex. */
export function aheadKey(path: string, node: Uint8Array): string {
  return createHash('sha256').update(path).update(new Uint8Array(1)).update(node).digest('hex').slice(0, 32);
}

/** The work item of a file sent ahead: its key, and its one scan event (encoded as batches are). */
export function aheadItem(path: string, node: TreeNode): { key: string; events: Uint8Array } {
  const bytes = nodeBytesOf(node); // encoded once: the key hashes the bytes the event carries
  return { key: aheadKey(path, bytes.bytes), events: encodeEventsWith([{ t: 'f', node: bytes, path }], nodeBytes) };
}

/**
 * The file of a `work.upload-file` item: its only event, which must be a
 * file to read that is not itself marked ahead. Anything else is
 * `jobs.bad-events`, which no retry mends.
 */
export function aheadFile(events: Uint8Array, what: string): { event: ScanEventOf<NodeBytes> & { t: 'f'; path: string }; key: string } {
  const list = decodeEventsWith(events, what, nodeBytes);
  const e = list[0];
  if (list.length !== 1 || e?.t !== 'f' || e.path === undefined || e.ahead === true) {
    throw new FerryError('jobs.bad-events', `${what} is not one file to read`);
  }
  return { event: e as ScanEventOf<NodeBytes> & { t: 'f'; path: string }, key: aheadKey(e.path, e.node.bytes) };
}

/**
 * Event `e` of a batch's fragment as the snapshot takes it: a file marked
 * ahead becomes its item's event (joinAhead), fetched by key; any other
 * event stays as it is. `fetch` gives the events of the item's fragment,
 * and what to call it in errors.
 */
export async function joinedEvent(
  e: ScanEventOf<NodeBytes>, fetch: (key: string) => Promise<{ events: Uint8Array; what: string }>,
): Promise<ScanEventOf<NodeBytes>> {
  if (e.t !== 'f' || e.ahead !== true) return e;
  const item = await fetch(aheadKey(e.path!, e.node.bytes));
  return joinAhead(e, item.events, item.what);
}

/**
 * What a file sent ahead becomes in the snapshot: the one event of its
 * fragment, which must be that file with its content (an "f" of the same
 * name) or the error reading it ("x" of the same path).
 */
export function joinAhead(sent: ScanEventOf<NodeBytes> & { t: 'f' }, fragmentEvents: Uint8Array, what: string): ScanEventOf<NodeBytes> {
  const list = decodeEventsWith(fragmentEvents, what, nodeBytes);
  const got = list[0];
  const fits = list.length === 1 && got !== undefined &&
    ((got.t === 'f' && got.node.name === sent.node.name && got.node.hasContent) || (got.t === 'x' && got.path === sent.path));
  if (!fits) throw new FerryError('jobs.bad-fragment', `${what} does not hold the file ${sent.path ?? sent.node.name} sent ahead`);
  return got;
}
