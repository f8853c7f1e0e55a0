/**
 * Prune: reclaims packs no snapshot references, in two phases, so that it
 * is safe while backups run (the argument is in design.md, "Prune").
 *
 * - mark(): finds packs none of whose blobs any snapshot references (and
 *   packs mostly unreferenced, to be repacked: repack.ts copies their
 *   referenced blobs into new packs), and saves a prune mark naming them
 *   with the jobs running now. From then on no backup deduplicates against
 *   those packs (MasterIndex.usable).
 * - sweep(): for each mark whose grace period has passed and whose backups
 *   have all ended, looks again at every snapshot, deletes the marked packs
 *   none of whose referenced blobs is missing from every unmarked pack
 *   (first rewriting the index files that name them, without them), and
 *   removes the mark. A marked pack holding a blob a snapshot needs and no
 *   other pack has is kept ("resurrected").
 *
 * Contract: never deletes the last stored copy of a blob that a snapshot
 * present at sweep time references; never deletes a pack no mark names (packs not in
 * any index, e.g. those a running backup has saved but not indexed yet,
 * are left alone); an interrupted sweep leaves a repository that reads
 * correctly and is finished by the next sweep. Callers hold the prune
 * lease so that two prunes do not interleave.
 */
import { idKey } from './ids.ts';
import { NodeType } from './tree.ts';
import { PackKind, Prefix, packName } from './layout.ts';
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

/** A pack as all index files together list it: its blobs by idKey. */
interface PackContents {
  readonly entry: Omit<PackEntry, 'blobs'>;
  readonly blobs: Map<string, PackEntry['blobs'][number]>;
}

function packContents(files: readonly IndexFile[]): Map<string, PackContents> {
  const out = new Map<string, PackContents>();
  for (const f of files) {
    for (const p of f.packs) {
      const name = nameOf(p);
      const pc = out.get(name) ?? { entry: { id: p.id, kind: p.kind, epk: p.epk }, blobs: new Map() };
      for (const b of p.blobs) pc.blobs.set(idKey(b.id), b);
      out.set(name, pc);
    }
  }
  return out;
}

const nameOf = (p: Pick<PackEntry, 'kind' | 'id'>): string => packName(p.kind as PackKind, p.id);

export interface MarkResult {
  /** The mark saved, or undefined when there was nothing to mark. */
  readonly mark?: PruneMark | undefined;
  /** Packs marked, and their bytes: unused ones and those to repack. */
  readonly packs: number;
  readonly bytes: number;
  /** Marked packs whose referenced blobs must be copied into new packs (repack.ts) before a sweep can delete them. */
  readonly repack: readonly PackEntry[];
}

/**
 * Marks every indexed pack no mark names yet that no snapshot references,
 * and, when `maxUnused` < 1, every pack whose unreferenced share of blob
 * bytes exceeds it (their referenced blobs are returned in `repack`, to be
 * copied before the sweep; data packs only with a key that can read
 * content). `running` are the jobs running now; `dryRun` saves nothing.
 */
export async function mark(repo: Repository, opts: { running: readonly string[]; graceMs: number; maxUnused?: number; dryRun?: boolean; now?: () => bigint }): Promise<MarkResult> {
  await repo.loadIndex();
  const already = new Set((await repo.listPruneMarks()).flatMap((m) => m.packs));
  const referenced = await referencedBlobs(repo);
  const contents = packContents(await readIndexFiles(repo));
  const sizes = await packSizes(repo);
  const maxUnused = opts.maxUnused ?? 1;
  const packs: string[] = [];
  const repack: PackEntry[] = [];
  for (const [name, pc] of contents) {
    if (already.has(name) || !sizes.has(name)) continue;
    const used = [...pc.blobs].filter(([k]) => referenced.has(k));
    if (used.length === 0) {
      packs.push(name);
      continue;
    }
    const total = [...pc.blobs.values()].reduce((n, b) => n + b.length, 0);
    const usedBytes = used.reduce((n, [, b]) => n + b.length, 0);
    const readable = pc.entry.kind === PackKind.Tree || repo.canReadContent;
    if (readable && total > 0 && (total - usedBytes) / total > maxUnused) {
      packs.push(name);
      repack.push({ ...pc.entry, blobs: used.map(([, b]) => b) });
    }
  }
  packs.sort();
  const bytes = packs.reduce((n, p) => n + (sizes.get(p) ?? 0), 0);
  if (packs.length === 0 || opts.dryRun) return { packs: packs.length, bytes, repack };
  const draft: PruneMark = { id: '', timeNs: (opts.now ?? (() => BigInt(Date.now()) * 1_000_000n))(), packs, waitFor: [...opts.running], graceMs: opts.graceMs };
  const id = await repo.saveObject(ObjectType.PruneMark, encodePruneMark(draft));
  return { mark: { ...draft, id }, packs: packs.length, bytes, repack };
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
  const contents = packContents(files);
  const candidates = new Set(ready.flatMap((m) => m.packs));
  const stored = await packSizes(repo);
  // Where each blob is stored outside the marked packs: a referenced blob may go with its marked pack
  // only if another, unmarked, stored pack has it (a repacked pack's blobs were copied into new ones).
  const elsewhere = new Set<string>();
  for (const [name, pc] of contents) if (!candidates.has(name) && stored.has(name)) for (const k of pc.blobs.keys()) elsewhere.add(k);
  const doomed = new Set([...candidates].filter((name) => ![...(contents.get(name)?.blobs.keys() ?? [])].some((k) => referenced.has(k) && !elsewhere.has(k))));
  const freedBytes = [...doomed].reduce((n, p) => n + (stored.get(p) ?? 0), 0);
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
