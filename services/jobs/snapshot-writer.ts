/**
 * The last step of every backup: make all blobs durable (packs, then index)
 * and only then write the snapshot that references them.
 */
import type { Repository } from '../repo/repository.ts';
import type { RepoWriter } from '../repo/repo-writer.ts';
import { SnapshotStatus, type Snapshot } from '../repo/snapshot.ts';
import { fromHex } from '../repo/ids.ts';
import type { TreeAssembler } from './tree-assembler.ts';

export interface SnapshotMeta {
  readonly startedMs: number;
  readonly host: string;
  readonly source: string;
  readonly paths: readonly string[];
  readonly tags: readonly string[];
  readonly parentId?: string | undefined;
  /** Files and blobs the uploaders read and added (the assembler's writer adds only trees). */
  readonly filesRead: number;
  readonly newBytes: number;
  readonly newBlobs: number;
  readonly storedBytes: number;
}

export async function writeSnapshot(repo: Repository, writer: RepoWriter, assembler: TreeAssembler, meta: SnapshotMeta): Promise<{ id: string; snapshot: Snapshot }> {
  const tree = assembler.rootTree();
  await writer.flush();
  const s = assembler.summary;
  const snapshot: Snapshot = {
    version: 1,
    timeNs: BigInt(meta.startedMs) * 1_000_000n,
    host: meta.host,
    source: meta.source,
    paths: [...meta.paths],
    tree,
    parent: meta.parentId ? fromHex(meta.parentId) : undefined,
    tags: [...meta.tags],
    status: s.errorCount > 0 ? SnapshotStatus.Warning : SnapshotStatus.Ok,
    summary: {
      files: s.files,
      dirs: s.dirs,
      others: s.others,
      bytes: s.bytes,
      filesRead: meta.filesRead,
      newBytes: meta.newBytes + writer.stats.newBytes,
      newBlobs: meta.newBlobs + writer.stats.newBlobs,
      storedBytes: meta.storedBytes + writer.stats.storedBytes,
      durationMs: Date.now() - meta.startedMs,
    },
    errors: s.errors,
    errorCount: s.errorCount,
  };
  return { id: await repo.saveSnapshot(snapshot), snapshot };
}
