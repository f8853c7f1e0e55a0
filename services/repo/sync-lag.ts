/**
 * How far a copy (services/repo/sync.ts) is behind its source: the age in
 * seconds of the newest source snapshot the copy does not hold, 0 when it
 * holds them all. Snapshot objects have the same names in both, so the
 * copy is only listed, never opened.
 */
import type { Storage } from '../storage/storage.ts';
import { Prefix } from './layout.ts';
import type { Repository } from './repository.ts';
import { snapshotTime } from './snapshot-list.ts';

export async function syncLagSeconds(repo: Repository, copy: Storage, now = Date.now()): Promise<number> {
  const there = new Set<string>();
  for await (const o of copy.list(Prefix.snapshots)) there.add(o.name.slice(Prefix.snapshots.length));
  let newestMissing: number | undefined;
  for (const r of await repo.listSnapshots()) {
    if (there.has(r.id)) continue;
    const t = snapshotTime(r).getTime();
    if (newestMissing === undefined || t > newestMissing) newestMissing = t;
  }
  return newestMissing === undefined ? 0 : Math.max(0, Math.round((now - newestMissing) / 1000));
}
