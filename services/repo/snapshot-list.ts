/**
 * A repository's snapshots, listed oldest first. Snapshot objects never
 * change, so each is read once per list (a backup lists them twice: for its
 * parent and for the catalog), and READ_AHEAD are read at a time: one by
 * one, a repository of 150 snapshots added ~0.1 s to every backup. The
 * listing itself is fresh every time, so a removed snapshot is gone from it.
 */
import type { Storage } from '../storage/storage.ts';
import { Semaphore } from '../storage/semaphore.ts';
import { Prefix, idOfName } from './layout.ts';
import type { Snapshot } from './snapshot.ts';

export interface SnapshotRecord {
  readonly id: string;
  readonly snapshot: Snapshot;
}

/** When the snapshot was taken, to the millisecond. */
export const snapshotTime = (r: SnapshotRecord): Date => new Date(Number(r.snapshot.timeNs / 1_000_000n));

/** Snapshot objects read at once. */
const READ_AHEAD = 16;

export class SnapshotList {
  private readonly storage: Storage;
  private readonly load: (hex: string) => Promise<Snapshot>;
  private readonly read = new Map<string, Promise<Snapshot>>();

  /** `load` reads and checks one snapshot object by its hex ID. */
  constructor(storage: Storage, load: (hex: string) => Promise<Snapshot>) {
    this.storage = storage;
    this.load = load;
  }

  async all(): Promise<SnapshotRecord[]> {
    const ids: string[] = [];
    for await (const o of this.storage.list(Prefix.snapshots)) ids.push(idOfName(o.name));
    const slots = new Semaphore(READ_AHEAD);
    const out = await Promise.all(ids.map((id) => slots.run(async (): Promise<SnapshotRecord> => ({ id, snapshot: await this.get(id) }))));
    return out.sort((a, b) => (a.snapshot.timeNs < b.snapshot.timeNs ? -1 : a.snapshot.timeNs > b.snapshot.timeNs ? 1 : 0));
  }

  private get(hex: string): Promise<Snapshot> {
    let p = this.read.get(hex);
    if (p === undefined) {
      p = this.load(hex);
      p.catch(() => this.read.delete(hex)); // a failed read is tried again next time
      this.read.set(hex, p);
    }
    return p;
  }
}
