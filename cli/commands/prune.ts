/**
 * `ferry prune`: reclaims the packs no snapshot references, safely while
 * backups run (actors/prune-run.ts, services/repo/prune.ts; design.md
 * §11.1). One run sweeps the marks that are ready, then marks what is
 * unreferenced now and repacks mostly-unused packs; with `--grace-hours 0`
 * and no job running, it sweeps that new mark at once.
 */
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { UsageError } from '../usage-error.ts';
import { formatBytes } from '../progress.ts';
import { withKv } from '../runtime.ts';
import { runPrune, type PruneRunResult } from '../../actors/prune-run.ts';

export const DEFAULT_GRACE_HOURS = 1;
export const DEFAULT_MAX_UNUSED_PERCENT = 20;

/** `--max-unused PERCENT` as a fraction. */
export function maxUnusedFlag(command: string, v: string | undefined): number {
  if (v === undefined) return DEFAULT_MAX_UNUSED_PERCENT / 100;
  const n = Number(v.replace(/%$/, ''));
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new UsageError(`${command}: --max-unused is a percentage from 0 to 100, not ${JSON.stringify(v)}`);
  return n / 100;
}

/** `--grace-hours H` in milliseconds. */
export function graceFlag(command: string, v: string | undefined): number {
  if (v === undefined) return DEFAULT_GRACE_HOURS * 3_600_000;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${command}: --grace-hours is a number of hours, 0 or more, not ${JSON.stringify(v)}`);
  return Math.round(n * 3_600_000);
}

/** What a person reads of a prune's outcome (also a retention job's). */
export function pruneLines(r: PruneRunResult): string[] {
  return [
    `${r.dryRun ? 'would delete' : 'deleted'} ${r.deletedPacks} pack(s), ${formatBytes(r.freedBytes)}${r.resurrected ? `; kept ${r.resurrected} marked pack(s) a snapshot still needs` : ''}`,
    `${r.dryRun ? 'would mark' : 'marked'} ${r.markedPacks} pack(s), ${formatBytes(r.markedBytes)}, for deletion${r.repackedPacks ? `; repacked ${r.repackedPacks} mostly-unused pack(s) (${r.repackedBlobs} live blob(s) copied)` : ''}`,
    ...r.waiting.map((w) => `mark ${w.mark.slice(0, 12)} waits: ${w.reason}; run prune again after`),
  ];
}

export const pruneCommand: Command = {
  name: 'prune',
  usage: `ferry prune [--grace-hours H] [--max-unused PERCENT] [--dry-run] [--json]   (defaults: grace ${DEFAULT_GRACE_HOURS} h, repack packs over ${DEFAULT_MAX_UNUSED_PERCENT}% unused)`,
  summary: 'delete data no snapshot references, in two phases that are safe while backups run',
  async run(args, s) {
    const { values } = parseCommandArgs('prune', args, { 'grace-hours': { type: 'string' }, 'max-unused': { type: 'string' }, 'dry-run': { type: 'boolean' } });
    const graceMs = graceFlag('prune', values['grace-hours']);
    const maxUnused = maxUnusedFlag('prune', values['max-unused']);
    const repo = await s.repo();
    const sealer = await s.contentEngine();
    const r = await withKv(s, (kv) => runPrune({ repo, kv, sealer, log: s.log, graceMs, maxUnused, dryRun: values['dry-run'] ?? false }));
    s.print(r, () => pruneLines(r));
    return ExitCode.Ok;
  },
};
