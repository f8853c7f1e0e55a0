/**
 * Repository check. Without readData: every index file opens, every pack
 * the index names exists, every snapshot opens and every blob its trees
 * reference is indexed. With readData: additionally every pack is read in
 * full, its SHA-256 must match its name, and every blob must decrypt and
 * hash back to its ID; damaged blobs are traced to the files that use them.
 */
import type { Repository } from './repository.ts';
import { Prefix, PackKind, idOfName } from './layout.ts';
import { blobId } from '../crypto/tenant-keys.ts';
import { idFromKey, idKey, sha256, toHex } from './ids.ts';
import { NodeType } from './tree.ts';
import { walkTree, displayPath } from './tree-walk.ts';
import { errorMessage } from './error-text.ts';

export const ProblemKind = {
  UnreadableIndex: 'unreadable-index',
  MissingPack: 'missing-pack',
  DamagedPack: 'damaged-pack',
  DamagedBlob: 'damaged-blob',
  MissingBlob: 'missing-blob',
  UnreadableSnapshot: 'unreadable-snapshot',
  UnreadableTree: 'unreadable-tree',
} as const;
export type ProblemKind = (typeof ProblemKind)[keyof typeof ProblemKind];

export interface CheckProblem {
  readonly kind: ProblemKind;
  readonly message: string;
  readonly pack?: string;
  readonly blob?: string;
  /** Files affected, as `<snapshot id prefix>:<path>`. */
  readonly files?: string[];
}

export interface CheckReport {
  readonly problems: CheckProblem[];
  readonly notes: string[];
  snapshots: number;
  packs: number;
  blobsRead: number;
  bytesRead: number;
}

export async function checkRepository(repo: Repository, opts: { readData: boolean; onProgress?: (r: CheckReport) => void }): Promise<CheckReport> {
  const report: CheckReport = { problems: [], notes: [], snapshots: 0, packs: 0, blobsRead: 0, bytesRead: 0 };

  // 1. Index files, each on its own so one bad file does not hide the rest. Every one is read, even
  // when the in-memory index came from the local index cache: check takes nothing on trust. None is
  // read twice: verifyIndexFiles skips those loadIndex has just read and checked.
  await repo.loadIndex({ onError: () => {} });
  await repo.verifyIndexFiles((name, err) => report.problems.push({ kind: ProblemKind.UnreadableIndex, message: `${name}: ${errorMessage(err)}` }));

  // 2. Packs named by the index must exist with a plausible size.
  const stored = new Map<string, number>();
  for (const prefix of [Prefix.data, Prefix.tree]) {
    for await (const o of repo.storage.list(prefix)) stored.set(o.name, o.size);
  }
  const packs = [...repo.index.allPacks()];
  for (const p of packs) {
    if (!stored.has(p.name)) report.problems.push({ kind: ProblemKind.MissingPack, pack: toHex(p.id), message: `pack ${toHex(p.id)} is in the index but missing from storage` });
  }
  const indexed = new Set(packs.map((p) => p.name));
  const orphans = [...stored.keys()].filter((n) => !indexed.has(n)).length;
  if (orphans > 0) report.notes.push(`${orphans} pack(s) are not in any index (left by an interrupted backup; harmless)`);

  // 3. Optionally read every pack and blob.
  const damaged = new Map<string, string>(); // blob key -> pack hex
  if (opts.readData) {
    const byPack = new Map<string, [string, ReturnType<typeof repo.index.get> & object][]>();
    for (const [k, loc] of repo.index.allBlobs()) {
      const list = byPack.get(loc.pack.name) ?? [];
      list.push([k, loc]);
      byPack.set(loc.pack.name, list);
    }
    if (!repo.canReadContent) report.notes.push('write-only key: data pack contents were checked by hash only, not decrypted');
    for (const p of packs) {
      if (!stored.has(p.name)) continue;
      const phex = toHex(p.id);
      const bytes = await repo.storage.load(p.name);
      report.packs++;
      report.bytesRead += bytes.length;
      const hashOk = toHex(sha256(bytes)) === phex;
      let bad = 0;
      const canOpen = p.kind === PackKind.Tree || repo.canReadContent;
      for (const [k, loc] of byPack.get(p.name) ?? []) {
        const id = idFromKey(k);
        if (!canOpen) continue;
        report.blobsRead++;
        try {
          if (loc.offset + loc.length > bytes.length) throw new Error('blob extends past the end of the pack');
          const plain = repo.openBlobBytes(id, loc, bytes.subarray(loc.offset, loc.offset + loc.length));
          if (!Buffer.from(blobId(repo.keys.idKey, plain)).equals(id)) throw new Error('content does not hash to its ID');
        } catch {
          bad++;
          damaged.set(k, phex);
        }
      }
      if (!hashOk || bad > 0) {
        report.problems.push({
          kind: ProblemKind.DamagedPack,
          pack: phex,
          message: `pack ${phex} is damaged: ${hashOk ? 'its hash matches' : 'its SHA-256 does not match its name'}, ${bad} blob(s) fail to decrypt or verify`,
        });
      }
      opts.onProgress?.(report);
    }
  }

  // 4. Snapshots: every referenced blob must be indexed (and undamaged).
  const affected = new Map<string, string[]>();
  for await (const o of repo.storage.list(Prefix.snapshots)) {
    const sid = idOfName(o.name);
    report.snapshots++;
    let snap;
    try {
      snap = await repo.loadSnapshotById(sid);
    } catch (err) {
      report.problems.push({ kind: ProblemKind.UnreadableSnapshot, message: `snapshot ${sid}: ${errorMessage(err)}` });
      continue;
    }
    try {
      if (!repo.index.has(snap.tree)) throw new Error(`root tree ${toHex(snap.tree)} is not indexed`);
      for await (const { path, node } of walkTree(repo, snap.tree)) {
        if (node.type === NodeType.Dir && node.subtree && !repo.index.has(node.subtree)) {
          report.problems.push({ kind: ProblemKind.MissingBlob, blob: toHex(node.subtree), message: `snapshot ${sid.slice(0, 8)}: tree of ${displayPath(path)} is missing` });
        }
        for (const id of node.content ?? []) {
          const k = idKey(id);
          const where = `${sid.slice(0, 8)}:${displayPath(path)}`;
          if (!repo.index.has(id)) {
            report.problems.push({ kind: ProblemKind.MissingBlob, blob: toHex(id), message: `snapshot ${sid.slice(0, 8)}: ${displayPath(path)} references missing blob ${toHex(id)}` });
          } else if (damaged.has(k)) {
            const list = affected.get(k) ?? [];
            if (list.at(-1) !== where) list.push(where);
            affected.set(k, list);
          }
        }
      }
    } catch (err) {
      report.problems.push({ kind: ProblemKind.UnreadableTree, message: `snapshot ${sid.slice(0, 8)}: ${errorMessage(err)}` });
    }
  }
  for (const [k, pack] of damaged) {
    const files = affected.get(k) ?? [];
    const blob = toHex(idFromKey(k));
    report.problems.push({
      kind: ProblemKind.DamagedBlob,
      pack,
      blob,
      files,
      message: `blob ${blob.slice(0, 16)} in pack ${pack} is damaged; affected files: ${files.length ? files.join(', ') : 'none (unreferenced)'}`,
    });
  }
  return report;
}
