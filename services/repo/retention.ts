/**
 * Forgetting snapshots by policy, shared by `ferry forget` and the
 * retention job: groups the snapshots (same host, source and paths),
 * applies each group's policy (forget-policy.ts) and removes the snapshot
 * objects it does not keep. A group whose policy is undefined is left
 * whole. Only snapshot objects go: prune reclaims their data.
 *
 * Removal is one snapshot at a time, so a failure says exactly how far it
 * got (`forget.remove-failed`); running it again removes the rest, since a
 * policy keeps all of its own keep set.
 */
import { FerryError } from '../../protocol/errors.ts';
import { applyPolicy, ForgetErrorCode, groupSnapshots, type KeepPolicy, type PolicyResult, type SnapshotGroup } from './forget-policy.ts';
import type { Repository } from './repository.ts';
import { snapshotTime } from './snapshot-list.ts';

export interface ForgetItem {
  readonly id: string;
  readonly time: Date;
  readonly host: string;
  readonly source: string;
  readonly paths: readonly string[];
}

export interface ForgetGroup {
  readonly group: SnapshotGroup<ForgetItem>;
  readonly result: PolicyResult<ForgetItem>;
}

export interface ForgetOutcome {
  readonly groups: readonly ForgetGroup[];
  /** IDs the policies do not keep: removed unless it was a dry run. */
  readonly doomed: readonly string[];
}

export async function forgetByPolicy(
  repo: Repository,
  policyFor: (group: SnapshotGroup<ForgetItem>) => KeepPolicy | undefined,
  opts: { dryRun?: boolean; filter?: (s: ForgetItem) => boolean } = {},
): Promise<ForgetOutcome> {
  const items = (await repo.listSnapshots())
    .map((r) => ({ id: r.id, time: snapshotTime(r), host: r.snapshot.host, source: r.snapshot.source, paths: r.snapshot.paths }))
    .filter((s) => opts.filter?.(s) ?? true);
  const groups: ForgetGroup[] = [];
  for (const group of groupSnapshots(items)) {
    const policy = policyFor(group);
    if (policy) groups.push({ group, result: applyPolicy(group.snapshots, policy) });
  }
  const doomed = groups.flatMap((g) => g.result.remove.map((r) => r.id));
  if (!opts.dryRun) {
    for (const [done, id] of doomed.entries()) {
      try {
        await repo.removeSnapshot(id);
      } catch (err) {
        throw new FerryError(
          ForgetErrorCode.RemoveFailed,
          `removed ${done} of ${doomed.length} snapshots, then could not remove ${id}: ${(err as Error).message}; run forget again to remove the rest`,
          { details: { removed: done, total: doomed.length, id }, cause: err },
        );
      }
    }
  }
  return { groups, doomed };
}
