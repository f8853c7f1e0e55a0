/**
 * `ferry prune`: reclaims the packs no snapshot references, safely while
 * backups run (services/repo/prune.ts; design.md, "Prune"). One run sweeps
 * the marks that are ready, then marks what is unreferenced now; with
 * `--grace-hours 0` and no backup running, it sweeps that new mark at once.
 * It holds the lease `prune.<repo id>` in NATS KV throughout, so two
 * prunes never interleave, and a dead one's lease expires by itself.
 */
import { hostname } from 'node:os';
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { UsageError } from '../usage-error.ts';
import { formatBytes } from '../progress.ts';
import { openRuntime } from '../runtime.ts';
import { FerryError } from '../../protocol/errors.ts';
import { Buckets } from '../../protocol/resources.ts';
import { openBucket } from '../../actors/runtime/open-bucket.ts';
import { Leases } from '../../actors/runtime/leases.ts';
import { LeaseKeeper } from '../../actors/runtime/lease-keeper.ts';
import { isTerminal, JobStore } from '../../actors/runtime/job-store.ts';
import { bumpPruneGeneration } from '../../actors/prune-generation.ts';
import { mark, replaceMark, sweep, type SweepResult } from '../../services/repo/prune.ts';
import { repack } from '../../services/repo/repack.ts';

const LEASE_TTL_MS = 60_000;
const DEFAULT_GRACE_HOURS = 1;
const DEFAULT_MAX_UNUSED = 0.2;

function maxUnused(v: string | undefined): number {
  if (v === undefined) return DEFAULT_MAX_UNUSED;
  const n = Number(v.replace(/%$/, '')) / 100;
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`prune: --max-unused is a percentage from 0 to 100, not ${JSON.stringify(v)}`);
  return n;
}

function graceHours(v: string | undefined): number {
  if (v === undefined) return DEFAULT_GRACE_HOURS;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`prune: --grace-hours is a number of hours, 0 or more, not ${JSON.stringify(v)}`);
  return n;
}

const addSweeps = (a: SweepResult, b: SweepResult): SweepResult => ({
  deletedPacks: a.deletedPacks + b.deletedPacks, freedBytes: a.freedBytes + b.freedBytes, resurrected: a.resurrected + b.resurrected,
  sweptMarks: a.sweptMarks + b.sweptMarks, rewrittenIndexFiles: a.rewrittenIndexFiles + b.rewrittenIndexFiles, waiting: b.waiting,
});

export const pruneCommand: Command = {
  name: 'prune',
  usage: `ferry prune [--grace-hours H] [--max-unused PERCENT] [--dry-run] [--json]   (defaults: grace ${DEFAULT_GRACE_HOURS} h, repack packs over ${DEFAULT_MAX_UNUSED * 100}% unused)`,
  summary: 'delete data no snapshot references, in two phases that are safe while backups run',
  async run(args, s) {
    const { values } = parseCommandArgs('prune', args, { 'grace-hours': { type: 'string' }, 'max-unused': { type: 'string' }, 'dry-run': { type: 'boolean' } });
    const graceMs = Math.round(graceHours(values['grace-hours']) * 3_600_000);
    const unusedLimit = maxUnused(values['max-unused']);
    const dryRun = values['dry-run'] ?? false;
    const repo = await s.repo();
    const repoId = repo.config.id;
    const rt = await openRuntime(s, { needs: [] });
    try {
      const leasesKv = await openBucket(rt.nc, Buckets.Leases);
      const keeper = await LeaseKeeper.tryAcquire({ leases: new Leases(leasesKv), key: `prune.${repoId}`, holder: `${hostname()}-${process.pid}`, ttlMs: LEASE_TTL_MS, log: s.log });
      if (!keeper) throw new FerryError('prune.busy', `another prune of this repository is running (lease prune.${repoId}); wait for it, or if its process died, for its lease to expire within ${LEASE_TTL_MS / 1000} s`);
      try {
        const jobs = await JobStore.open(rt.nc);
        // Every unfinished job of this repository: a sweep waits for those that were running at marking time.
        const running = async () => (await jobs.unfinished()).filter((j) => j.repoId === repoId).map((j) => `${j.tenant}/${j.jobId}`).sort();
        const jobEnded = async (ref: string) => {
          const [tenant, jobId] = ref.split('/');
          const rec = tenant && jobId ? await jobs.get(tenant, jobId) : undefined;
          return rec === undefined || isTerminal(rec.state);
        };
        let swept = await sweep(repo, { jobEnded, dryRun });
        if (swept.deletedPacks > 0) await bumpPruneGeneration(leasesKv, repoId);

        const before = await running();
        const marked = await mark(repo, { running: before, graceMs, maxUnused: unusedLimit, dryRun });
        let repacked = { packs: 0, blobs: 0, bytes: 0 };
        if (marked.mark) {
          await bumpPruneGeneration(leasesKv, repoId);
          // Copies the live blobs of mostly-unused packs, now that the mark keeps the writer from reusing them there.
          await repo.loadIndex();
          if (marked.repack.length > 0) repacked = await repack(repo, await s.contentEngine(), marked.repack);
          // Jobs read again after the mark is stored: one that registered before this read may have loaded the
          // index without the mark, so it joins the wait; one that registers later loads the mark.
          const after = await running();
          const added = after.filter((j) => !before.includes(j));
          if (added.length > 0) await replaceMark(repo, marked.mark, [...before, ...added]);
          if (graceMs === 0) swept = addSweeps(swept, await sweep(repo, { jobEnded }));
          if (swept.deletedPacks > 0) await bumpPruneGeneration(leasesKv, repoId);
        }
        const out = { dryRun, deletedPacks: swept.deletedPacks, freedBytes: swept.freedBytes, resurrected: swept.resurrected, rewrittenIndexFiles: swept.rewrittenIndexFiles, markedPacks: marked.packs, markedBytes: marked.bytes, repackedPacks: repacked.packs, repackedBlobs: repacked.blobs, waiting: swept.waiting };
        s.print(out, () => [
          `${dryRun ? 'would delete' : 'deleted'} ${swept.deletedPacks} pack(s), ${formatBytes(swept.freedBytes)}${swept.resurrected ? `; kept ${swept.resurrected} marked pack(s) a snapshot references again` : ''}`,
          `${dryRun ? 'would mark' : 'marked'} ${marked.packs} pack(s), ${formatBytes(marked.bytes)}, for deletion${marked.repack.length ? ` (${marked.repack.length} of them mostly unused${dryRun ? '' : `: ${repacked.blobs} live blob(s) copied to new packs`})` : ''}`,
          ...swept.waiting.map((w) => `mark ${w.mark.slice(0, 12)} waits: ${w.reason}; run prune again after`),
        ]);
        return ExitCode.Ok;
      } finally {
        await keeper.close();
      }
    } finally {
      await rt.close();
    }
  },
};
