/**
 * Snapshot objects (`snapshots/<id>`): the root tree of one backup plus who,
 * when, what and how it went. Written last, after every pack and index file
 * it depends on, so a snapshot never references data that is not stored.
 */
import { encodeCanonical, decodeMsgpack } from '../codec/canonical-msgpack.ts';
import { RepoError, RepoErrorCode } from './errors.ts';

export const SnapshotStatus = { Ok: 'ok', Warning: 'warning' } as const;
export type SnapshotStatus = (typeof SnapshotStatus)[keyof typeof SnapshotStatus];

export interface SnapshotError {
  readonly path: string;
  readonly code: string;
  readonly message: string;
}

export interface SnapshotSummary {
  readonly files: number;
  readonly dirs: number;
  readonly others: number;
  /** Sum of file sizes in the snapshot. */
  readonly bytes: number;
  /** Files whose content was read (new or changed). */
  readonly filesRead: number;
  /** Plaintext bytes of blobs this backup added. */
  readonly newBytes: number;
  readonly newBlobs: number;
  /** Bytes this backup added to storage (packs and index). */
  readonly storedBytes: number;
  readonly durationMs: number;
}

export interface Snapshot {
  readonly version: 1;
  /** Start time in nanoseconds since the epoch. */
  readonly timeNs: bigint;
  readonly host: string;
  readonly source: string;
  readonly paths: readonly string[];
  readonly tree: Uint8Array;
  readonly parent?: Uint8Array | undefined;
  readonly tags: readonly string[];
  readonly status: SnapshotStatus;
  readonly summary: SnapshotSummary;
  /** The first 100 errors; errorCount has the total. */
  readonly errors: readonly SnapshotError[];
  readonly errorCount: number;
}

export function encodeSnapshot(s: Snapshot): Uint8Array {
  const m = s.summary;
  return encodeCanonical({
    v: 1,
    time: s.timeNs,
    host: s.host,
    source: s.source,
    paths: s.paths,
    tree: s.tree,
    parent: s.parent,
    tags: s.tags,
    status: s.status,
    summary: {
      files: m.files, dirs: m.dirs, others: m.others, bytes: m.bytes, read: m.filesRead,
      newBytes: m.newBytes, newBlobs: m.newBlobs, stored: m.storedBytes, ms: m.durationMs,
    },
    errors: s.errors.map((e) => ({ path: e.path, code: e.code, msg: e.message })),
    errorCount: s.errorCount,
  });
}

export function decodeSnapshot(bytes: Uint8Array, what = 'snapshot'): Snapshot {
  const o = decodeMsgpack(bytes, what) as Record<string, unknown>;
  if (o.v !== 1 || !(o.tree instanceof Uint8Array)) throw new RepoError(RepoErrorCode.Corrupt, `${what} is not a version 1 snapshot`);
  const m = (o.summary ?? {}) as Record<string, unknown>;
  const n = (v: unknown) => Number(v ?? 0);
  return {
    version: 1,
    timeNs: BigInt(o.time as number | bigint),
    host: String(o.host ?? ''),
    source: String(o.source ?? ''),
    paths: Array.isArray(o.paths) ? o.paths.map(String) : [],
    tree: o.tree,
    parent: o.parent instanceof Uint8Array ? o.parent : undefined,
    tags: Array.isArray(o.tags) ? o.tags.map(String) : [],
    status: o.status === 'warning' ? 'warning' : 'ok',
    summary: {
      files: n(m.files), dirs: n(m.dirs), others: n(m.others), bytes: n(m.bytes), filesRead: n(m.read),
      newBytes: n(m.newBytes), newBlobs: n(m.newBlobs), storedBytes: n(m.stored), durationMs: n(m.ms),
    },
    errors: Array.isArray(o.errors)
      ? o.errors.map((e: Record<string, unknown>) => ({ path: String(e.path), code: String(e.code), message: String(e.msg) }))
      : [],
    errorCount: n(o.errorCount),
  };
}
