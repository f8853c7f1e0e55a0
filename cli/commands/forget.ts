/**
 * `ferry forget`: applies a retention policy (services/repo/forget-policy.ts)
 * to each group of snapshots (same host, source and paths) and removes the
 * snapshot objects it does not keep. Only snapshot objects go: the packs and
 * index files they referenced stay in storage until a prune reclaims what no
 * snapshot uses, so a forget frees no space by itself.
 */
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { UsageError } from '../usage-error.ts';
import { snapshotTime } from '../snapshot-ref.ts';
import { FerryError, hasCode } from '../../protocol/errors.ts';
import type { Repository } from '../../services/repo/repository.ts';
import {
  applyPolicy, BucketRule, checkPolicy, ForgetErrorCode, groupSnapshots, type KeepPolicy,
} from '../../services/repo/forget-policy.ts';

const USAGE = 'ferry forget [--keep-last N] [--keep-hourly N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--keep-yearly N] '
  + '[--keep-within DURATION] [--host H] [--source S] [--dry-run] [--json]';

const OPTIONS = {
  'keep-last': { type: 'string' },
  'keep-hourly': { type: 'string' },
  'keep-daily': { type: 'string' },
  'keep-weekly': { type: 'string' },
  'keep-monthly': { type: 'string' },
  'keep-yearly': { type: 'string' },
  'keep-within': { type: 'string' },
  host: { type: 'string' },
  source: { type: 'string' },
  'dry-run': { type: 'boolean' },
} as const;

/** The policy the flags give, checked before anything is read; a bad one is a usage error. */
function policyFrom(values: Partial<Record<keyof typeof OPTIONS, string | boolean>>): KeepPolicy {
  const policy: { -readonly [K in keyof KeepPolicy]: KeepPolicy[K] } = {};
  for (const rule of BucketRule) {
    const v = values[`keep-${rule}`];
    if (typeof v !== 'string') continue;
    if (!/^-?\d{1,9}$/.test(v)) throw new UsageError(`forget: --keep-${rule} is ${JSON.stringify(v)}; give a whole number of snapshots, or -1 for unlimited (written --keep-${rule}=-1)`);
    policy[rule] = Number(v);
  }
  if (typeof values['keep-within'] === 'string') policy.within = values['keep-within'];
  try {
    checkPolicy(policy);
  } catch (e) {
    if (hasCode(e, ForgetErrorCode.EmptyPolicy)) {
      throw new UsageError(`forget: give at least one --keep-* option; without one every snapshot would be removed\nusage: ${USAGE}`);
    }
    if (hasCode(e, ForgetErrorCode.BadDuration)) throw new UsageError(`forget: --keep-within: ${(e as Error).message}`);
    throw new UsageError(`forget: ${(e as Error).message}`);
  }
  return policy;
}

/**
 * Removes one at a time, so a failure says exactly how far it got; running
 * forget again then removes the rest, since a policy keeps all of its own
 * keep set.
 */
async function removeAll(repo: Repository, ids: readonly string[]): Promise<void> {
  for (const [done, id] of ids.entries()) {
    try {
      await repo.removeSnapshot(id);
    } catch (err) {
      throw new FerryError(
        ForgetErrorCode.RemoveFailed,
        `removed ${done} of ${ids.length} snapshots, then could not remove ${id}: ${(err as Error).message}; run forget again to remove the rest`,
        { details: { removed: done, total: ids.length, id }, cause: err },
      );
    }
  }
}

export const forgetCommand: Command = {
  name: 'forget',
  usage: USAGE,
  summary: 'remove the snapshots a retention policy does not keep (their data stays until pruned)',
  async run(args, s) {
    const { values, positionals } = parseCommandArgs('forget', args, OPTIONS);
    if (positionals.length > 0) throw new UsageError(`forget: takes no arguments, only --keep-* options\nusage: ${USAGE}`);
    const policy = policyFrom(values);
    const dryRun = values['dry-run'] ?? false;
    const repo = await s.repo();
    const chosen = (await repo.listSnapshots()).filter(
      (r) => (values.host === undefined || r.snapshot.host === values.host) && (values.source === undefined || r.snapshot.source === values.source),
    );
    const items = chosen.map((r) => ({ id: r.id, time: snapshotTime(r), host: r.snapshot.host, source: r.snapshot.source, paths: r.snapshot.paths }));
    const groups = groupSnapshots(items).map((g) => ({ group: g, result: applyPolicy(g.snapshots, policy) }));
    const doomed = groups.flatMap((g) => g.result.remove.map((r) => r.id));
    if (!dryRun) await removeAll(repo, doomed);

    const short = (id: string) => id.slice(0, 12);
    s.print(
      {
        dryRun,
        groups: groups.map(({ group, result }) => ({
          host: group.host,
          source: group.source,
          paths: group.paths,
          keep: result.keep.map((k) => ({ id: k.snapshot.id, time: k.snapshot.time.toISOString(), reasons: k.reasons })),
          remove: result.remove.map((r) => ({ id: r.id, time: r.time.toISOString() })),
        })),
        removed: dryRun ? 0 : doomed.length,
      },
      () => [
        ...(groups.length === 0 ? ['no snapshots match'] : []),
        ...groups.flatMap(({ group, result }) => [
          `host ${group.host}, source ${group.source}, paths ${group.paths.join(' ')}:`,
          `  keep ${result.keep.length}:`,
          ...result.keep.map((k) => `    ${short(k.snapshot.id)}  ${k.snapshot.time.toISOString()}  ${k.reasons.join(', ')}`),
          `  ${dryRun ? 'would remove' : 'remove'} ${result.remove.length}:`,
          ...result.remove.map((r) => `    ${short(r.id)}  ${r.time.toISOString()}`),
        ]),
        dryRun
          ? `dry run: ${doomed.length} snapshot(s) would be removed; nothing was changed`
          : `removed ${doomed.length} snapshot(s); the data they referenced stays in the repository until \`ferry prune\` reclaims it`,
      ],
    );
    return ExitCode.Ok;
  },
};
