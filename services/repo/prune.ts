/**
 * Prune: reclaims packs no snapshot references, in two phases, so that it
 * is safe while backups run (the argument is in design.md, "Prune").
 *
 * - mark(): finds packs none of whose blobs any snapshot references, and
 *   saves a prune mark naming them with the backup jobs running now. From
 *   then on no backup deduplicates against those packs (MasterIndex.usable).
 * - sweep(): for each mark whose grace period has passed and whose backups
 *   have all ended, looks again at every snapshot, deletes the marked packs
 *   that are still unreferenced (first rewriting the index files that name
 *   them, without them), and removes the mark. A marked pack that a
 *   snapshot now references is kept ("resurrected").
 *
 * Contract: never deletes a pack holding a blob that a snapshot present at
 * sweep time references; never deletes a pack no mark names (packs not in
 * any index, e.g. those a running backup has saved but not indexed yet,
 * are left alone); an interrupted sweep leaves a repository that reads
 * correctly and is finished by the next sweep. Callers hold the prune
 * lease so that two prunes do not interleave.
 */
import { idKey } from './ids.ts';
import { NodeType } from './tree.ts';
import { Prefix, packName, type PackKind } from './layout.ts';
import { ObjectType } from './sealed-object.ts';
import { encodePruneMark, type PruneMark } from './prune-marks.ts';
import type { PackEntry } from './index-file.ts';
import type { Repository } from './repository.ts';
import { isNotFound } from '../storage/storage.ts';

/** Every blob (as idKey) a snapshot references: its trees and their file contents. */
export async function referencedBlobs(repo: Repository): Promise<Set<string>> {
  const seen = new Set<string>();
  const visit = async (tree: Uint8Array): Promise<void> => {
    const k = idKey(tree);
    if (seen.has(k)) return; // shared subtrees are walked once
    seen.add(k);
    for (const node of await repo.loadTree(tree)) {
      for (const id of node.content ?? []) seen.add(idKey(id));
      if (node.type === NodeType.Dir && node.subtree) await visit(node.subtree);
    }
  };
  for (const rec of await repo.listSnapshots()) await visit(rec.snapshot.tree);
  return seen;
}

interface IndexFile {
  readonly name: string;
  readonly packs: PackEntry[];
}

async function readIndexFiles(repo: Repository): Promise<IndexFile[]> {
  const files: IndexFile[] = [];
  for await (const o of repo.storage.list(Prefix.index)) {
    const packs = await repo.readIndexFile(o.name).catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
    if (packs) files.push({ name: o.name, packs });
  }
  return files;
}

/** Pack object name → the IDs (idKey) of every blob any index file lists in it. */
function blobsByPack(files: readonly IndexFile[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const f of files) {
    for (const p of f.packs) {
      const name = nameOf(p);
      const set = out.get(name) ?? new Set<string>();
      for (const b of p.blobs) set.add(idKey(b.id));
      out.set(name, set);
    }
  }
  return out;
}

const nameOf = (p: PackEntry): string => packName(p.kind as PackKind, p.id);

export interface MarkResult {
  /** The mark saved, or undefined when there was nothing to mark. */
  readonly mark?: PruneMark | undefined;
  readonly packs: number;
  readonly bytes: number;
}

/**
 * Marks every indexed pack that no snapshot references and no mark names
 * yet. `running` are the backup jobs running now (their IDs), read after
 * nothing else; `dryRun` saves nothing.
 */
export async function mark(repo: Repository, opts: { running: readonly string[]; graceMs: number; dryRun?: boolean; now?: () => bigint }): Promise<MarkResult> {
  await repo.loadIndex();
  const already = new Set((await repo.listPruneMarks()).flatMap((m) => m.packs));
  const referenced = await referencedBlobs(repo);
  const byPack = blobsByPack(await readIndexFiles(repo));
  const sizes = await packSizes(repo);
  const packs = [...byPack].filter(([name, blobs]) => !already.has(name) && sizes.has(name) && ![...blobs].some((b) => referenced.has(b))).map(([name]) => name).sort();
  const bytes = packs.reduce((n, p) => n + (sizes.get(p) ?? 0), 0);
  if (packs.length === 0 || opts.dryRun) return { packs: packs.length, bytes };
  const draft: PruneMark = { id: '', timeNs: (opts.now ?? (() => BigInt(Date.now()) * 1_000_000n))(), packs, waitFor: [...opts.running], graceMs: opts.graceMs };
  const id = await repo.saveObject(ObjectType.PruneMark, encodePruneMark(draft));
  return { mark: { ...draft, id }, packs: packs.length, bytes };
}

/** Saves `old` again with `waitFor` in place of its own, then removes `old`: its packs stay marked throughout. */
export async function replaceMark(repo: Repository, old: PruneMark, waitFor: readonly string[]): Promise<PruneMark> {
  const next: PruneMark = { ...old, id: '', waitFor: [...waitFor] };
  const id = await repo.saveObject(ObjectType.PruneMark, encodePruneMark(next));
  await ignoreMissing(repo.storage.remove(`${Prefix.prune}${old.id}`));
  return { ...next, id };
}

async function packSizes(repo: Repository): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const prefix of [Prefix.data, Prefix.tree]) for await (const o of repo.storage.list(prefix)) sizes.set(o.name, o.size);
  return sizes;
}

export interface Waiting {
  readonly mark: string;
  /** Why its sweep waits: the grace period, or backups still running. */
  readonly reason: string;
}

export interface SweepResult {
  readonly deletedPacks: number;
  readonly freedBytes: number;
  /** Marked packs a snapshot references again, kept. */
  readonly resurrected: number;
  readonly sweptMarks: number;
  readonly waiting: readonly Waiting[];
  readonly rewrittenIndexFiles: number;
}

/**
 * Sweeps every mark that is ready: its grace period over and each job it
 * waits for ended (`jobEnded`, from the job store).
 */
export async function sweep(repo: Repository, opts: { jobEnded: (jobId: string) => Promise<boolean>; dryRun?: boolean; nowNs?: bigint }): Promise<SweepResult> {
  const now = opts.nowNs ?? BigInt(Date.now()) * 1_000_000n;
  const ready: PruneMark[] = [];
  const waiting: Waiting[] = [];
  for (const m of await repo.listPruneMarks()) {
    const due = m.timeNs + BigInt(m.graceMs) * 1_000_000n;
    const busy: string[] = [];
    for (const job of m.waitFor) if (!(await opts.jobEnded(job))) busy.push(job);
    if (due > now) waiting.push({ mark: m.id, reason: `grace period until ${new Date(Number(due / 1_000_000n)).toISOString()}` });
    else if (busy.length > 0) waiting.push({ mark: m.id, reason: `backup job(s) ${busy.join(', ')} still running` });
    else ready.push(m);
  }
  const none = { deletedPacks: 0, freedBytes: 0, resurrected: 0, sweptMarks: 0, waiting, rewrittenIndexFiles: 0 };
  if (ready.length === 0) return none;

  await repo.loadIndex();
  // Looked at again now: a backup that was running at marking time may have referenced them since.
  const referenced = await referencedBlobs(repo);
  const files = await readIndexFiles(repo);
  const byPack = blobsByPack(files);
  const candidates = new Set(ready.flatMap((m) => m.packs));
  const doomed = new Set([...candidates].filter((name) => ![...(byPack.get(name) ?? [])].some((b) => referenced.has(b))));
  const sizes = await packSizes(repo);
  const freedBytes = [...doomed].reduce((n, p) => n + (sizes.get(p) ?? 0), 0);
  const affected = files.filter((f) => f.packs.some((p) => doomed.has(nameOf(p))));
  if (opts.dryRun) return { ...none, deletedPacks: doomed.size, freedBytes, resurrected: candidates.size - doomed.size, sweptMarks: ready.length, rewrittenIndexFiles: affected.length };

  // Order matters for readers and for a crash part-way (design.md, "Prune"): replacement index
  // files, then the old ones go, then the packs, and the marks last.
  for (const f of affected) {
    const keep = f.packs.filter((p) => !doomed.has(nameOf(p)));
    if (keep.length > 0) await repo.saveIndex(keep);
  }
  for (const f of affected) await ignoreMissing(repo.storage.remove(f.name));
  for (const name of doomed) await ignoreMissing(repo.storage.remove(name));
  for (const m of ready) await ignoreMissing(repo.storage.remove(`${Prefix.prune}${m.id}`));
  return { deletedPacks: doomed.size, freedBytes, resurrected: candidates.size - doomed.size, sweptMarks: ready.length, waiting, rewrittenIndexFiles: affected.length };
}

async function ignoreMissing(p: Promise<void>): Promise<void> {
  await p.catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
}
