/**
 * RepoWriter: the write side of a repository. Blobs go in; packs, then index
 * files come out, in that order. Deduplicates against the loaded index and
 * against blobs already added in this session.
 *
 * Flow: addBlob() queues plaintext into a batch for the current pack of its
 * kind; full batches go to the Sealer (worker threads) and come back sealed;
 * sealed blobs are appended to the pack they were assigned to; a pack that
 * reached its target size and has no batch in flight is saved to storage.
 * Every `indexEvery` saved packs, and at flush(), an index file listing the
 * saved packs is written, so an interrupted backup leaves reusable data.
 *
 * Back-pressure: addBlob() waits while more than `maxPendingBytes` of
 * plaintext is queued, sealing or unsaved, so memory stays flat. Packs are
 * not built in memory: each goes to storage blob by blob through an
 * ObjectWriter (see PackBuilder), committed under its name once complete.
 */
import type { Repository } from './repository.ts';
import type { Sealer, SealItem } from './sealer.ts';
import { PackBuilder } from './pack.ts';
import { newPackKey, trailerKeyFor } from './pack-keys.ts';
import { PackKind } from './layout.ts';
import { packName } from './layout.ts';
import { BlobType } from './blob.ts';
import { idKey } from './ids.ts';
import type { PackEntry } from './index-file.ts';
import type { ObjectWriter } from '../storage/storage.ts';

export interface RepoWriterOptions {
  readonly maxPendingBytes?: number;
  readonly batchBytes?: number;
  readonly batchItems?: number;
  readonly indexEvery?: number;
}

export interface WriterStats {
  newBlobs: number;
  newBytes: number;
  storedBytes: number;
  packs: number;
}

interface OpenPack {
  readonly builder: PackBuilder;
  /** Where the builder writes; committed or aborted when the pack is done. */
  readonly out: Promise<ObjectWriter>;
  inFlight: number;
  /** Bytes assigned (queued or sealed) to this pack, to decide rotation early. */
  assigned: number;
  /** Plaintext bytes sealed into this pack and not yet saved (released from back-pressure on save). */
  held: number;
  closed: boolean;
}

export class RepoWriter {
  readonly stats: WriterStats = { newBlobs: 0, newBytes: 0, storedBytes: 0, packs: 0 };
  private readonly repo: Repository;
  private readonly sealer: Sealer;
  private readonly opts: Required<RepoWriterOptions>;
  private readonly added = new Set<string>();
  private readonly current = new Map<PackKind, OpenPack>();
  private readonly batch = new Map<PackKind, { pack: OpenPack; items: SealItem[]; bytes: number }>();
  private readonly saves = new Set<Promise<void>>();
  private readonly unindexed: PackEntry[] = [];
  private pendingBytes = 0;
  private inFlightBatches = 0;
  /** Woken whenever a batch settles, a pack is saved, or something fails. */
  private waiters: (() => void)[] = [];
  private failure: unknown = null;

  constructor(repo: Repository, sealer: Sealer, opts: RepoWriterOptions = {}) {
    this.repo = repo;
    this.sealer = sealer;
    this.opts = {
      // An open pack holds its sealed bytes until saved, so the bound must exceed two packs.
      // The default is that floor: more buffering did not make backups faster, only bigger.
      maxPendingBytes: Math.max(opts.maxPendingBytes ?? 0, 2 * repo.config.packSize + 4 * 1024 * 1024),
      batchBytes: opts.batchBytes ?? 2 * 1024 * 1024,
      batchItems: opts.batchItems ?? 256,
      indexEvery: opts.indexEvery ?? 64,
    };
  }

  /** True when the blob is stored already or queued in this session. */
  has(id: Uint8Array): boolean {
    return this.repo.index.has(id) || this.added.has(idKey(id));
  }

  /**
   * Queues a blob unless it is known. Returns false for a duplicate.
   * The writer may hand `data` to another thread: callers must not reuse it.
   */
  async addBlob(type: BlobType, id: Uint8Array, data: Uint8Array): Promise<boolean> {
    this.throwIfFailed();
    if (this.repo.index.has(id)) return false;
    const k = idKey(id);
    if (this.added.has(k)) return false;
    this.added.add(k);
    this.repo.index.known.add(id);
    this.stats.newBlobs++;
    this.stats.newBytes += data.length;
    const kind = type === BlobType.Tree ? PackKind.Tree : PackKind.Data;
    const pack = this.packFor(kind);
    let b = this.batch.get(kind);
    if (!b || b.pack !== pack) {
      if (b) this.dispatch(kind);
      b = { pack, items: [], bytes: 0 };
      this.batch.set(kind, b);
    }
    b.items.push({ id, type, data });
    b.bytes += data.length;
    pack.assigned += data.length;
    this.pendingBytes += data.length;
    if (b.bytes >= this.opts.batchBytes || b.items.length >= this.opts.batchItems) this.dispatch(kind);
    if (pack.assigned >= this.repo.config.packSize) this.rotate(kind);
    while (this.pendingBytes > this.opts.maxPendingBytes && !this.failure) await this.changed();
    this.throwIfFailed();
    return true;
  }

  /** Seals and saves everything queued, then writes an index file. */
  async flush(): Promise<void> {
    for (const kind of [PackKind.Data, PackKind.Tree]) {
      this.dispatch(kind);
      if (this.current.has(kind)) this.rotate(kind);
    }
    while (this.saves.size > 0 || this.inFlightBatches > 0) await this.changed();
    this.throwIfFailed();
    await this.writeIndex();
  }

  private changed(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }

  private packFor(kind: PackKind): OpenPack {
    let p = this.current.get(kind);
    if (!p) {
      const { epk, key } = newPackKey(kind, this.repo.keys);
      const out = this.repo.storage.writer();
      out.catch(() => {}); // raised by the builder's finish()
      p = { builder: new PackBuilder(kind, epk, key, trailerKeyFor(epk, this.repo.keys), out), out, inFlight: 0, assigned: 0, held: 0, closed: false };
      this.current.set(kind, p);
    }
    return p;
  }

  private rotate(kind: PackKind): void {
    this.dispatch(kind);
    const p = this.current.get(kind);
    if (!p) return;
    this.current.delete(kind);
    p.closed = true;
    this.maybeSave(p);
  }

  private dispatch(kind: PackKind): void {
    const b = this.batch.get(kind);
    if (!b || b.items.length === 0) return;
    this.batch.delete(kind);
    const { pack, items, bytes } = b;
    pack.inFlight++;
    this.inFlightBatches++;
    const raw = items.map((i) => ({ id: i.id, type: i.type, rawLength: i.data.length }));
    this.sealer
      .seal(pack.builder.key, this.repo.config.zstdLevel, items)
      .then((sealed) => {
        sealed.forEach((s, i) => {
          const r = raw[i]!;
          pack.builder.append(r.id, r.type, s, r.rawLength);
        });
      })
      .catch((e: unknown) => this.fail(e))
      .finally(() => {
        pack.inFlight--;
        this.inFlightBatches--;
        this.release(bytes, pack);
        this.wake();
      });
  }

  /** Plaintext bytes stay counted until their pack is saved, which bounds memory. */
  private release(bytes: number, pack: OpenPack): void {
    pack.held += bytes;
    this.maybeSave(pack);
  }

  private maybeSave(p: OpenPack): void {
    if (!p.closed || p.inFlight > 0 || this.failure) return;
    const held = p.held;
    p.held = 0;
    if (p.builder.blobCount === 0) {
      discard(p);
      this.unblock(held);
      return;
    }
    const save = p.builder
      .finish()
      .then(async ({ id, size, entry }) => {
        await (await p.out).commit(packName(entry.kind, id));
        this.stats.storedBytes += size;
        this.stats.packs++;
        this.unindexed.push({ id, ...entry });
        if (this.unindexed.length >= this.opts.indexEvery) await this.writeIndex();
      })
      .catch((e: unknown) => {
        discard(p);
        this.fail(e);
      })
      .finally(() => {
        this.saves.delete(save);
        this.unblock(held);
      });
    this.saves.add(save);
  }

  private unblock(bytes: number): void {
    this.pendingBytes -= bytes;
    this.wake();
  }

  private async writeIndex(): Promise<void> {
    if (this.unindexed.length === 0) return;
    await this.repo.saveIndex(this.unindexed.splice(0));
  }

  /** Records the first failure; the packs still open are given up, so their partial objects go too. */
  private fail(e: unknown): void {
    if (!this.failure) this.failure = e;
    for (const p of this.current.values()) discard(p);
    this.current.clear();
    this.wake();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}

/** Drops a pack's partial object; a failure to do so leaves a hidden temp object, nothing more. */
function discard(p: OpenPack): void {
  p.out.then((w) => w.abort()).catch(() => {});
}
