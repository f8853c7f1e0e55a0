/**
 * One prune of a repository with its coordination in NATS (design.md
 * §11.1): holds the lease `prune.<repo id>`, sweeps the marks that are
 * ready, marks what is unreferenced now (waiting for the unfinished jobs of
 * this repository, read before and again after the mark is stored),
 * repacks mostly-unused packs, and with no grace and nothing to wait for
 * sweeps the new mark at once. Each mark and each sweep is announced to
 * long-running writers (prune-generation.ts). Used by `ferry prune` and by
 * retention jobs.
 */
import { hostname } from 'node:os';
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import { FerryError } from '../protocol/errors.ts';
import { Buckets, type BucketName } from '../protocol/resources.ts';
import { Leases } from './runtime/leases.ts';
import { LeaseKeeper } from './runtime/lease-keeper.ts';
import { isTerminal, JobStore } from './runtime/job-store.ts';
import { bumpPruneGeneration } from './prune-generation.ts';
import { mark, replaceMark, sweep, type SweepResult, type Waiting } from '../services/repo/prune.ts';
import { repack } from '../services/repo/repack.ts';
import type { Repository } from '../services/repo/repository.ts';
import type { Sealer } from '../services/repo/sealer.ts';

const LEASE_TTL_MS = 60_000;

export interface PruneRunOptions {
  readonly repo: Repository;
  /** Opens a KV bucket (the lease, the job records, the prune generation). */
  readonly kv: (bucket: BucketName) => Promise<KV>;
  /** Seals the blobs a repack copies. */
  readonly sealer: Sealer;
  readonly log: Logger;
  readonly graceMs: number;
  /** Repack packs more than this fraction unused (1: never). */
  readonly maxUnused: number;
  readonly dryRun: boolean;
  /** The job running this prune (`tenant/jobId`), which its marks do not wait for. */
  readonly selfJob?: string | undefined;
}

export interface PruneRunResult {
  readonly dryRun: boolean;
  readonly deletedPacks: number;
  readonly freedBytes: number;
  readonly resurrected: number;
  readonly rewrittenIndexFiles: number;
  readonly markedPacks: number;
  readonly markedBytes: number;
  readonly repackedPacks: number;
  readonly repackedBlobs: number;
  readonly waiting: readonly Waiting[];
}

const addSweeps = (a: SweepResult, b: SweepResult): SweepResult => ({
  deletedPacks: a.deletedPacks + b.deletedPacks, freedBytes: a.freedBytes + b.freedBytes, resurrected: a.resurrected + b.resurrected,
  sweptMarks: a.sweptMarks + b.sweptMarks, rewrittenIndexFiles: a.rewrittenIndexFiles + b.rewrittenIndexFiles, waiting: b.waiting,
});

export async function runPrune(o: PruneRunOptions): Promise<PruneRunResult> {
  const { repo, dryRun } = o;
  const repoId = repo.config.id;
  const leasesKv = await o.kv(Buckets.Leases);
  const keeper = await LeaseKeeper.tryAcquire({ leases: new Leases(leasesKv), key: `prune.${repoId}`, holder: `${hostname()}-${process.pid}-${o.selfJob ?? 'cli'}`, ttlMs: LEASE_TTL_MS, log: o.log });
  if (!keeper) throw new FerryError('prune.busy', `another prune of this repository is running (lease prune.${repoId}); wait for it, or if its process died, for its lease to expire within ${LEASE_TTL_MS / 1000} s`);
  try {
    const jobs = new JobStore(await o.kv(Buckets.Jobs));
    // Every unfinished job of this repository but this one: a sweep waits for those that were running at marking time.
    const running = async () => (await jobs.unfinished()).filter((j) => j.repoId === repoId).map((j) => `${j.tenant}/${j.jobId}`).filter((j) => j !== o.selfJob).sort();
    const jobEnded = async (ref: string) => {
      const [tenant, jobId] = ref.split('/');
      const rec = tenant && jobId ? await jobs.get(tenant, jobId) : undefined;
      return rec === undefined || isTerminal(rec.state);
    };
    let swept = await sweep(repo, { jobEnded, dryRun });
    if (swept.deletedPacks > 0 && !dryRun) await bumpPruneGeneration(leasesKv, repoId);

    const before = await running();
    const marked = await mark(repo, { running: before, graceMs: o.graceMs, maxUnused: o.maxUnused, dryRun });
    let repacked = { packs: 0, blobs: 0, bytes: 0 };
    if (marked.mark) {
      await bumpPruneGeneration(leasesKv, repoId);
      // Jobs read again once the mark is stored and announced: one that registered before this read may have
      // loaded the index without the mark, so it joins the wait; one that registers later loads the mark.
      const after = await running();
      const added = after.filter((j) => !before.includes(j));
      if (added.length > 0) await replaceMark(repo, marked.mark, [...before, ...added]);
      // The live blobs of mostly-unused packs are copied now that the mark keeps the writer from reusing them there.
      await repo.loadIndex();
      if (marked.repack.length > 0) repacked = await repack(repo, o.sealer, marked.repack);
      if (o.graceMs === 0) {
        const now = await sweep(repo, { jobEnded });
        swept = addSweeps(swept, now);
        if (now.deletedPacks > 0) await bumpPruneGeneration(leasesKv, repoId);
      }
    }
    return {
      dryRun, deletedPacks: swept.deletedPacks, freedBytes: swept.freedBytes, resurrected: swept.resurrected, rewrittenIndexFiles: swept.rewrittenIndexFiles,
      markedPacks: marked.packs, markedBytes: marked.bytes, repackedPacks: repacked.packs, repackedBlobs: repacked.blobs, waiting: swept.waiting,
    };
  } finally {
    await keeper.close();
  }
}
