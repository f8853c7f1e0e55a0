/**
 * Keeps the local catalog in step with the repository: applies snapshots of
 * the session's source that it has not seen, in time order; when one older
 * than the newest applied snapshot is missing, it rebuilds from scratch so
 * that history stays ordered.
 */
import type { Session } from './session.ts';
import type { Catalog } from '../services/catalog/index.ts';
import type { Repository, SnapshotRecord } from '../services/repo/repository.ts';
import { snapshotTime } from '../services/repo/snapshot-list.ts';
import { catalogListings } from '../services/repo/catalog-feed.ts';

export async function syncCatalog(s: Session, opts: { rebuild?: boolean } = {}): Promise<{ catalog: Catalog; applied: number }> {
  const repo = await s.repo();
  const catalog = await s.catalog();
  const mine = (await repo.listSnapshots()).filter((r) => r.snapshot.source === s.cfg.source);
  let firstMissing = mine.findIndex((r) => !catalog.hasSnapshot(r.id));
  if (opts.rebuild || (firstMissing >= 0 && mine.slice(firstMissing).some((r) => catalog.hasSnapshot(r.id)))) {
    catalog.reset();
    firstMissing = 0;
  }
  if (firstMissing < 0) return { catalog, applied: 0 };
  await repo.loadIndex(); // trees are read through the index
  let applied = 0;
  // The snapshot applied just before: unchanged subtrees since then are skipped (catalog-feed.ts).
  let base = firstMissing > 0 ? mine[firstMissing - 1] : undefined;
  for (const r of mine.slice(firstMissing)) {
    await applyOne(repo, catalog, r, base);
    base = r;
    applied++;
  }
  return { catalog, applied };
}

/** Applies snapshot `r`; `base` must be the snapshot the catalog applied last, if any. */
export async function applyOne(repo: Repository, catalog: Catalog, r: SnapshotRecord, base?: SnapshotRecord): Promise<void> {
  await catalog.applySnapshot({ id: r.id, time: snapshotTime(r) }, catalogListings(repo, r.snapshot, base?.snapshot));
}
