/**
 * `ferry sync`: copies a repository object by object, as stored, from one
 * Storage to another (an off-site copy). Nothing is decrypted or sealed
 * again and no key is needed: the copy is the same repository, with the
 * same `config` and key files, opened with the same passphrases.
 *
 * What callers may rely on:
 * - Same repository only. A destination whose `config` differs from the
 *   source's is refused (`sync.other-repository`) before anything is
 *   written. A destination without a `config` is taken only if it holds
 *   nothing but key files the source also has (all an interrupted first
 *   sync can leave); otherwise `sync.not-empty`.
 * - Order. Phases run one after another, each finished (every save
 *   resolved) before the next starts: (1) `config`: key files, then the
 *   `config` object itself, last as `init` writes it, so that a location
 *   without one is never taken for a repository; (2) `packs`: `data/` and
 *   `tree/`; (3) `index` files; (4) `snapshots`. So at every moment each
 *   snapshot at the destination references only index files and packs
 *   stored there, as docs/design.md §11 keeps it for a backup. The index
 *   files and snapshots copied are those the source listed before its
 *   packs were listed, so a backup writing to the source meanwhile cannot
 *   get one into the copy ahead of its packs (they are copied next time).
 * - Incremental and resumable. Each prefix of the destination is listed
 *   once, in its phase (and, when it has no `config`, first looked into to
 *   see it is empty), and only the names it lacks are copied. An object
 *   it holds under the same name with the same size is skipped unread; one
 *   of another size is a problem (`sync.size-mismatch`) and is left as it
 *   is. Saves are atomic, so a run stopped at any moment (kill -9
 *   included) leaves only whole objects, and the next run copies just what
 *   is still missing.
 * - Verified. Every object copied but `config` is named by the SHA-256
 *   of its bytes (keys, packs, index files, snapshots): the bytes loaded are
 *   hashed before they are saved, and a mismatch is `sync.corrupt-source`,
 *   with nothing written for that object. After each save the destination
 *   is asked for the object's size (`sync.bad-copy`). Objects under those
 *   prefixes whose names are not the layout's are no part of the
 *   repository: they are counted as `ignored` and not copied.
 * - Problems with single objects (the three codes above) do not stop their
 *   phase: the rest of it is copied, then the run fails with that problem,
 *   or with `sync.objects-failed` carrying them all in `problems`, and no
 *   later phase runs. Any other error (storage errors, after whatever
 *   retries the caller's storages make) stops the run as soon as the copies
 *   in flight have settled. Either way what was copied stays, consistent.
 * - Additive. Objects the source no longer holds (forgotten snapshots,
 *   pruned packs) stay at the destination; pruning the copy is separate.
 * - Memory: at most `lanes` objects in flight, each held whole (packs are
 *   at most 128 MiB), plus names: the source's index files and snapshots
 *   for the whole run, and the listings of the phase that runs.
 * - The source is only read: packs it keeps in an archive storage class
 *   stop the run with `storage.cold` until they are restored. An object
 *   listed there that is gone when it is read (a forget or prune running
 *   meanwhile) stops the run with `storage.not-found` rather than being
 *   passed over, since the index files a prune writes in its place were not
 *   listed; the next run lists afresh.
 * - Neither storage is closed.
 */
import { isNotFound, type ObjectInfo, type Storage } from '../storage/storage.ts';
import { RepoError, RepoErrorCode } from './errors.ts';
import { Prefix } from './layout.ts';
import { copyObjects, listSizes, missingObjects, zeroCounts, type SyncCounts } from './sync-copy.ts';
import { phaseFailure, SyncError, SyncErrorCode } from './sync-errors.ts';

export type { SyncCounts } from './sync-copy.ts';
export { SyncError, SyncErrorCode } from './sync-errors.ts';

export const SyncPhase = { Config: 'config', Packs: 'packs', Index: 'index', Snapshots: 'snapshots' } as const;
export type SyncPhase = (typeof SyncPhase)[keyof typeof SyncPhase];
/** The phases in the order they run. */
export const SYNC_PHASES: readonly SyncPhase[] = [SyncPhase.Config, SyncPhase.Packs, SyncPhase.Index, SyncPhase.Snapshots];

export const DEFAULT_SYNC_LANES = 4;

export interface SyncProgress {
  readonly phase: SyncPhase;
  /** What this phase has done so far. */
  readonly done: Readonly<SyncCounts>;
  /** Objects (and bytes) this phase found missing at the destination: what it copies if all goes well. */
  readonly missing: number;
  readonly missingBytes: number;
}

export interface SyncOptions {
  /** Objects copied at once (default 4). */
  readonly lanes?: number;
  /** Called when a phase knows what it has to copy, and after every object it copies. */
  readonly onProgress?: (progress: SyncProgress) => void;
}

export interface SyncResult {
  readonly phases: Readonly<Record<SyncPhase, Readonly<SyncCounts>>>;
  readonly total: Readonly<SyncCounts>;
}

interface Run {
  readonly source: Storage;
  readonly destination: Storage;
  readonly lanes: number;
  readonly phases: Record<SyncPhase, SyncCounts>;
  readonly onProgress: ((progress: SyncProgress) => void) | undefined;
}

/** One prefix's source objects, and the destination's listing of it when the caller already has one. */
interface Group {
  readonly prefix: string;
  readonly listed: AsyncIterable<ObjectInfo> | Iterable<ObjectInfo>;
  readonly have?: ReadonlyMap<string, number>;
}

/** Copies the repository in `source` to `destination` (see the contract above). */
export async function syncRepository(source: Storage, destination: Storage, opts: SyncOptions = {}): Promise<SyncResult> {
  const lanes = opts.lanes ?? DEFAULT_SYNC_LANES;
  if (!Number.isSafeInteger(lanes) || lanes < 1) throw new RangeError(`sync lanes must be a positive integer, got ${lanes}`);
  const phases = { config: zeroCounts(), packs: zeroCounts(), index: zeroCounts(), snapshots: zeroCounts() };
  const run: Run = { source, destination, lanes, phases, onProgress: opts.onProgress };
  // Snapshots, then index files, then (in their phase) packs: the reverse of the order a backup stores them in,
  // so everything a listed snapshot or index file needs was stored before the next listing began.
  const snapshots = await listSizes(source, Prefix.snapshots);
  const indexes = await listSizes(source, Prefix.index);
  await copyConfig(run);
  await runPhase(run, SyncPhase.Packs, [Prefix.data, Prefix.tree].map((prefix) => ({ prefix, listed: source.list(prefix) })));
  await runPhase(run, SyncPhase.Index, [{ prefix: Prefix.index, listed: objectsOf(indexes) }]);
  await runPhase(run, SyncPhase.Snapshots, [{ prefix: Prefix.snapshots, listed: objectsOf(snapshots) }]);
  const total = zeroCounts();
  for (const c of Object.values(phases)) {
    for (const k of Object.keys(total) as (keyof SyncCounts)[]) total[k] += c[k];
  }
  return { phases, total };
}

/**
 * Compares the configs and refuses another repository (or a location holding
 * something else) before it writes; then the key files, then `config`.
 */
async function copyConfig(run: Run): Promise<void> {
  const { source, destination } = run;
  const config = await source.load(Prefix.config).catch((e: unknown) => {
    if (isNotFound(e)) throw new RepoError(RepoErrorCode.NotARepository, `no Ferry repository at ${source.location} (no config object), so there is nothing to sync`, { cause: e });
    throw e;
  });
  const theirs = await destination.load(Prefix.config).catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
  if (theirs !== undefined && !Buffer.from(theirs).equals(config)) {
    throw new SyncError(
      SyncErrorCode.OtherRepository,
      `${destination.location} holds another repository (its config differs from that of ${source.location}); nothing was copied. Sync to an empty location, or to a copy of this repository`,
      { details: { source: source.location, destination: destination.location } },
    );
  }
  const sourceKeys = await listSizes(source, Prefix.keys);
  const haveKeys = await listSizes(destination, Prefix.keys);
  if (theirs === undefined) await refuseUnlessFresh(run, sourceKeys, haveKeys);
  const counts = run.phases.config;
  const keys = [{ prefix: Prefix.keys, listed: objectsOf(sourceKeys), have: haveKeys }];
  const report = await runPhase(run, SyncPhase.Config, keys, theirs === undefined ? config : undefined);
  if (theirs === undefined) {
    await destination.save(Prefix.config, config);
    const { size } = await destination.stat(Prefix.config);
    if (size !== config.length) {
      throw new SyncError(SyncErrorCode.BadCopy, `config was saved at ${destination.location} with ${config.length} bytes, which now reports ${size}; remove it there and run sync again`, {
        details: { name: Prefix.config, sent: config.length, stored: size },
      });
    }
    counts.copied++;
    counts.copiedBytes += size;
  } else {
    counts.skipped++;
    counts.skippedBytes += config.length;
  }
  report();
}

/** A destination without config: anything but key files of this repository means it is not ours to write to. */
async function refuseUnlessFresh(run: Run, sourceKeys: ReadonlyMap<string, number>, haveKeys: ReadonlyMap<string, number>): Promise<void> {
  const where = run.destination.location;
  const notEmpty = (what: string) =>
    new SyncError(SyncErrorCode.NotEmpty, `${where} has no Ferry config but holds ${what}, so it is not a copy of this repository; nothing was copied. Sync to an empty location`, {
      details: { destination: where },
    });
  const foreign = [...haveKeys.keys()].find((name) => !sourceKeys.has(name));
  if (foreign !== undefined) throw notEmpty(`${foreign}, a key file this repository does not have`);
  for (const prefix of [Prefix.data, Prefix.tree, Prefix.index, Prefix.snapshots]) {
    for await (const o of run.destination.list(prefix)) throw notEmpty(o.name);
  }
}

/**
 * Lists what the destination lacks of each group, copies it, and throws the
 * phase's problems once every copy has settled. `after` is an object the
 * caller copies once the phase is done (config), so that progress counts it
 * as missing; the caller reports its copy with the function returned.
 */
async function runPhase(run: Run, phase: SyncPhase, groups: readonly Group[], after?: Uint8Array): Promise<() => void> {
  const counts = run.phases[phase];
  const problems: SyncError[] = [];
  let missing: ObjectInfo[] = [];
  for (const g of groups) {
    const have = g.have ?? (await listSizes(run.destination, g.prefix));
    missing = missing.concat(await missingObjects(g.prefix, g.listed, have, counts, problems));
  }
  const total = { missing: missing.length + (after === undefined ? 0 : 1), missingBytes: missing.reduce((n, o) => n + o.size, after?.length ?? 0) };
  const report = () => run.onProgress?.({ phase, done: { ...counts }, ...total });
  report();
  await copyObjects({ source: run.source, destination: run.destination, lanes: run.lanes, counts, onCopied: report }, missing, problems);
  const failed = phaseFailure(phase, problems);
  if (failed !== undefined) throw failed;
  return report;
}

function* objectsOf(sizes: ReadonlyMap<string, number>): Generator<ObjectInfo> {
  for (const [name, size] of sizes) yield { name, size };
}
