/**
 * Rebuilds a node's version list from its row and its `versions` rows.
 *
 * A versions row holds the state a node had *before* snapshot `seq`
 * changed it, so state i started where the previous change happened, and
 * the oldest state started in the snapshot that created the node. That
 * snapshot follows from the node id: ids are allocated in increasing order
 * and every snapshot records the first ids it allocated.
 */
import { fromStoredMtime, isDeletedK, ROOT_ID } from './node-codes.ts';
import type { SnapshotRow, VersionRow } from './statements.ts';
import type { CatalogNode, FileVersion } from './types.ts';

export interface SnapshotInfo {
  readonly seq: number;
  readonly id: string;
  readonly time: Date;
  readonly firstDir: bigint;
  readonly firstFile: bigint;
  /** False while the snapshot is being (or was only partly) applied. */
  readonly applied: boolean;
}

export function snapshotInfo(r: SnapshotRow): SnapshotInfo {
  return { seq: Number(r.seq), id: r.id, time: new Date(Number(r.time_ms)), firstDir: r.first_dir, firstFile: r.first_file, applied: r.state === 1n };
}

/** The snapshot that allocated `nodeId` (snapshots sorted by seq), or undefined for the root. */
export function creatorOf(nodeId: bigint, snaps: readonly SnapshotInfo[]): SnapshotInfo | undefined {
  if (nodeId === ROOT_ID) return undefined;
  const dir = nodeId > 0n;
  const ordinal = dir ? nodeId : -nodeId;
  // Latest snapshot whose first id is <= ordinal; snapshots that allocated
  // nothing share their first id with the next one, and the later wins.
  let lo = 0;
  let hi = snaps.length - 1;
  let found: SnapshotInfo | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = snaps[mid] as SnapshotInfo;
    if ((dir ? s.firstDir : s.firstFile) <= ordinal) {
      found = s;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** Newest first, the current state included. States whose snapshot is unknown (the root) are left out. */
export function buildHistory(node: CatalogNode, rows: readonly VersionRow[], snaps: readonly SnapshotInfo[]): FileVersion[] {
  const bySeq = new Map(snaps.map((s) => [s.seq, s] as const));
  const creator = creatorOf(node.nodeId, snaps);
  const startOf = (i: number): SnapshotInfo | undefined => {
    const next = rows[i];
    return next ? bySeq.get(Number(next.seq)) : creator;
  };
  const out: FileVersion[] = [];
  const push = (s: SnapshotInfo | undefined, v: Omit<FileVersion, 'snapshotId' | 'snapshotTime'>): void => {
    if (s) out.push({ snapshotId: s.id, snapshotTime: s.time, ...v });
  };
  push(startOf(0), { size: node.size, mtimeMs: node.mtimeMs, hash: node.hash, deleted: node.deleted });
  rows.forEach((r, i) => {
    const k = Number(r.k);
    push(startOf(i + 1), { size: Number(r.size), mtimeMs: fromStoredMtime(Number(r.mtime)), hash: r.hash, deleted: isDeletedK(k) });
  });
  return out;
}
