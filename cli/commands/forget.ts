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
import { hasCode } from '../../protocol/errors.ts';
import { Buckets } from '../../protocol/resources.ts';
import { withKv } from '../runtime.ts';
import type { Session } from '../session.ts';
import { RetentionStore } from '../../actors/retention-store.ts';
import { BucketRule, checkPolicy, ForgetErrorCode, type KeepPolicy } from '../../services/repo/forget-policy.ts';
import { forgetByPolicy } from '../../services/repo/retention.ts';

const USAGE = 'ferry forget [--keep-last N] [--keep-hourly N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--keep-yearly N] '
  + '[--keep-within DURATION] [--host H] [--source S] [--dry-run] [--json]   (no --keep-*: the stored policies of ferry retention set)';

/** The --keep-* flags, shared with `ferry retention set`. */
export const KEEP_OPTIONS = {
  'keep-last': { type: 'string' },
  'keep-hourly': { type: 'string' },
  'keep-daily': { type: 'string' },
  'keep-weekly': { type: 'string' },
  'keep-monthly': { type: 'string' },
  'keep-yearly': { type: 'string' },
  'keep-within': { type: 'string' },
} as const;

const OPTIONS = {
  ...KEEP_OPTIONS,
  host: { type: 'string' },
  source: { type: 'string' },
  'dry-run': { type: 'boolean' },
} as const;

/**
 * The policy the --keep-* flags give, checked before anything is read (a
 * bad one is a usage error), or undefined when none is given.
 */
export function policyFromFlags(command: string, values: Partial<Record<keyof typeof KEEP_OPTIONS, string | boolean | undefined>>): KeepPolicy | undefined {
  const policy: { -readonly [K in keyof KeepPolicy]: KeepPolicy[K] } = {};
  let given = false;
  for (const rule of BucketRule) {
    const v = values[`keep-${rule}`];
    if (typeof v !== 'string') continue;
    given = true;
    if (!/^-?\d{1,9}$/.test(v)) throw new UsageError(`${command}: --keep-${rule} is ${JSON.stringify(v)}; give a whole number of snapshots, or -1 for unlimited (written --keep-${rule}=-1)`);
    policy[rule] = Number(v);
  }
  if (typeof values['keep-within'] === 'string') {
    given = true;
    policy.within = values['keep-within'];
  }
  if (!given) return undefined;
  try {
    checkPolicy(policy);
  } catch (e) {
    if (hasCode(e, ForgetErrorCode.BadDuration)) throw new UsageError(`${command}: --keep-within: ${(e as Error).message}`);
    throw new UsageError(`${command}: ${(e as Error).message}`);
  }
  return policy;
}

/** The stored policies of this tenant, by source (ferry retention set). */
async function storedPolicies(s: Session): Promise<Map<string, KeepPolicy>> {
  const list = await withKv(s, async (kv) => new RetentionStore(await kv(Buckets.Retention)).list(s.cfg.tenant));
  return new Map(list.map((p) => [p.source, p.policy]));
}

export const forgetCommand: Command = {
  name: 'forget',
  usage: USAGE,
  summary: 'remove the snapshots a retention policy does not keep (their data stays until pruned)',
  async run(args, s) {
    const { values, positionals } = parseCommandArgs('forget', args, OPTIONS);
    if (positionals.length > 0) throw new UsageError(`forget: takes no arguments, only --keep-* options\nusage: ${USAGE}`);
    const flags = policyFromFlags('forget', values);
    const dryRun = values['dry-run'] ?? false;
    // Without --keep-* flags, each source's stored policy applies (sources without one are left alone).
    const stored = flags ? undefined : await storedPolicies(s);
    if (!flags && stored!.size === 0) {
      throw new UsageError(`forget: give at least one --keep-* option (or store policies with ferry retention set); without one every snapshot would be removed\nusage: ${USAGE}`);
    }
    const repo = await s.repo();
    const { groups, doomed } = await forgetByPolicy(repo, (g) => flags ?? stored!.get(g.source), {
      dryRun,
      filter: (r) => (values.host === undefined || r.host === values.host) && (values.source === undefined || r.source === values.source),
    });

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
        ...(groups.length === 0 ? [flags ? 'no snapshots match' : 'no snapshots of a source with a stored policy'] : []),
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
