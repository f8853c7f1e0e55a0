/**
 * RepoWriter: the write side of a repository. Blobs go in; packs, then index
 * files come out, in that order. Deduplicates against the loaded index and
 * against blobs already added in this session.
 *
 * Two ways in:
 * - addBlob() queues plaintext into a batch for the current pack of its
 *   kind; full batches go to the Sealer (worker threads) and come back
 *   sealed, and are appended to the pack they were assigned to. Trees come
 *   this way.
 * - File content is sealed where it was read: lease() lends a scan the key
 *   of the current data pack, the scan seals its chunks with it on a worker
 *   thread, and addSealed() appends them; release() returns the lease.
 * A pack that reached its target size and has no batch or lease out is
 * saved to storage.
 * Every `indexEvery` saved packs, and at flush(), an index file listing the
 * saved packs is written, so an interrupted backup leaves reusable data.
 *
 * Back-pressure: addBlob() and lease() wait while more than
 * `maxPendingBytes` is queued, sealing, leased or unsaved, so memory stays
 * flat. addSealed() and release() never wait: a lease holder must be able
 * to give its lease back, or its pack could never be saved. Packs are
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
import { discard, Lease, type OpenPack, type PackLease } from './pack-lease.ts';

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

export class RepoWriter {
  readonly stats: WriterStats = { newBlobs: 0, newBytes: 0, storedBytes: 0, packs: 0 };
  private readonly repo: Repository;
  private readonly sealer: Sealer;
  private readonly opts: Required<RepoWriterOptions>;
  private readonly added = new Set<string>();
  /** Blobs indexed only in marked packs that this writer stored again. */
  private readonly storedAgain = new Set<string>();
  private indexGeneration: number;
  private readonly current = new Map<PackKind, OpenPack>();
  private readonly batch = new Map<PackKind, { pack: OpenPack; items: SealItem[]; bytes: number }>();
  /** Packs closed and not done yet: what a flush() waits for. */
  private readonly unsaved = new Set<OpenPack>();
  private readonly unindexed: PackEntry[] = [];
  /** Index files are written one after another, so a flush can wait for one another flush started. */
  private indexWrites: Promise<void> = Promise.resolve();
  private pendingBytes = 0;
  /** Plaintext bytes reserved by returned leases, and the sealed bytes they added: how much a lease is expected to add. */
  private leasedReserved = 0;
  private leasedAdded = 0;
  /** Woken whenever a batch settles, a pack is saved, or something fails. */
  private waiters: (() => void)[] = [];
  private failure: unknown = null;

  constructor(repo: Repository, sealer: Sealer, opts: RepoWriterOptions = {}) {
    this.repo = repo;
    this.indexGeneration = repo.indexGeneration;
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

  /**
   * True when the blob may be taken as stored: indexed in a pack no prune
   * mark names, or queued or stored by this writer. An indexed blob counts
   * as this writer's only if it stored it again after its pack was marked:
   * blobs it stored before may be in packs marked since (design.md §11.1).
   */
  has(id: Uint8Array): boolean {
    this.forgetIfPruned();
    const k = idKey(id);
    if (this.repo.index.has(id)) return this.repo.index.usable(id) || this.storedAgain.has(k);
    return this.added.has(k);
  }

  /** Records that this writer stores the blob (see has()). */
  private take(id: Uint8Array): void {
    (this.repo.index.has(id) ? this.storedAgain : this.added).add(idKey(id));
  }

  /**
   * After a prune swept (the repository replaced its index), blobs this
   * writer stored earlier may be gone with their packs: it forgets them and
   * asks the index again. Blobs still queued may then be stored twice, which
   * costs space only.
   */
  private forgetIfPruned(): void {
    if (this.indexGeneration === this.repo.indexGeneration) return;
    this.indexGeneration = this.repo.indexGeneration;
    this.added.clear();
    this.storedAgain.clear();
  }

  /**
   * Queues a blob unless it is known. Returns false for a duplicate.
   * The writer may hand `data` to another thread: callers must not reuse it.
   */
  async addBlob(type: BlobType, id: Uint8Array, data: Uint8Array): Promise<boolean> {
    this.throwIfFailed();
    if (this.has(id)) return false;
    this.take(id);
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

  /**
   * Lends a scan that may read up to `reserve` bytes of file content the key
   * of the current data pack (see PackLease). Waits while too much is
   * pending, like addBlob(); a holder must not wait for a second lease
   * (or for addBlob()) before it has released the one it holds, or a full
   * writer could wait on itself.
   */
  async lease(reserve: number): Promise<PackLease> {
    this.throwIfFailed();
    while (this.pendingBytes > this.opts.maxPendingBytes && !this.failure) await this.changed();
    this.throwIfFailed();
    const pack = this.packFor(PackKind.Data);
    // A rotation decided on `reserve` alone would close packs far too early
    // when most content is deduplicated (a backup after a small change).
    const ratio = this.leasedReserved === 0 ? 1 : Math.max(0.05, this.leasedAdded / this.leasedReserved);
    const expected = Math.ceil(reserve * ratio);
    const lease = new Lease(this, { key: pack.builder.key, level: this.repo.config.zstdLevel }, pack, reserve, expected);
    pack.inFlight++;
    pack.assigned += expected;
    this.pendingBytes += expected;
    if (pack.assigned >= this.repo.config.packSize) this.rotate(PackKind.Data);
    return lease;
  }

  /**
   * Appends a data blob that a scan sealed under `lease`, unless the
   * repository has it or it was added in this session. Returns false for
   * such a duplicate, whose sealed bytes are dropped. Takes `sealed`: its
   * memory is released once it is written, so the caller must not use it
   * again.
   */
  addSealed(lease: PackLease, id: Uint8Array, sealed: Uint8Array, rawLength: number): boolean {
    this.throwIfFailed();
    const l = this.own(lease);
    if (l.released) throw new TypeError('addSealed() with a lease already released');
    if (this.has(id)) return false;
    this.take(id);
    this.repo.index.known.add(id);
    this.stats.newBlobs++;
    this.stats.newBytes += rawLength;
    l.pack.builder.append(id, BlobType.Data, sealed, rawLength);
    l.appended += sealed.length;
    // The lease's estimate may have been low: a pack that is full takes no more leases.
    if (l.pack.builder.size >= this.repo.config.packSize && this.current.get(PackKind.Data) === l.pack) this.rotate(PackKind.Data);
    return true;
  }

  /** Returns a lease (see PackLease). Safe to call twice. */
  release(lease: PackLease): void {
    const l = this.own(lease);
    if (l.released) return;
    l.released = true;
    this.leasedReserved += l.reserved;
    this.leasedAdded += l.appended;
    const p = l.pack;
    p.inFlight--;
    p.assigned += l.appended - l.expected;
    this.pendingBytes += l.appended - l.expected;
    p.held += l.appended;
    this.maybeSave(p);
    this.wake();
  }

  private own(lease: PackLease): Lease {
    if (!(lease instanceof Lease) || lease.writer !== this) throw new TypeError('not a lease of this writer');
    return lease;
  }

  /**
   * Makes every blob added so far durable and indexed: closes the open
   * packs, waits for each pack closed by then to be saved (for a pack that
   * other callers still hold leases on, until they release them), then
   * writes an index file. Packs opened after the call are not waited for:
   * the uploader's lanes share this writer, and a lane that waited for the
   * other lanes' newer leases (as flush once did) left the pool idle while
   * every lane waited.
   */
  async flush(): Promise<void> {
    for (const kind of [PackKind.Data, PackKind.Tree]) {
      this.dispatch(kind);
      if (this.current.has(kind)) this.rotate(kind);
    }
    const closed = [...this.unsaved];
    while (closed.some((p) => !p.done) && !this.failure) await this.changed();
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
      p = { builder: new PackBuilder(kind, epk, key, trailerKeyFor(epk, this.repo.keys), out), out, inFlight: 0, assigned: 0, held: 0, closed: false, done: false };
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
    this.unsaved.add(p);
    this.maybeSave(p);
  }

  private dispatch(kind: PackKind): void {
    const b = this.batch.get(kind);
    if (!b || b.items.length === 0) return;
    this.batch.delete(kind);
    const { pack, items, bytes } = b;
    pack.inFlight++;
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
        this.holdSealed(bytes, pack);
        this.wake();
      });
  }

  /** Plaintext bytes stay counted until their pack is saved, which bounds memory. */
  private holdSealed(bytes: number, pack: OpenPack): void {
    pack.held += bytes;
    this.maybeSave(pack);
  }

  private maybeSave(p: OpenPack): void {
    if (!p.closed || p.inFlight > 0) return;
    if (this.failure) {
      discard(p);
      this.settled(p);
      return;
    }
    const held = p.held;
    p.held = 0;
    if (p.builder.blobCount === 0) {
      discard(p);
      this.settled(p);
      this.unblock(held);
      return;
    }
    void p.builder
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
        this.settled(p);
        this.unblock(held);
      });
  }

  private settled(p: OpenPack): void {
    p.done = true;
    this.unsaved.delete(p);
  }

  private unblock(bytes: number): void {
    this.pendingBytes -= bytes;
    this.wake();
  }

  /** Writes an index file of the saved packs not in one yet, after any index file being written. */
  private writeIndex(): Promise<void> {
    const write = this.indexWrites.then(async () => {
      if (this.unindexed.length > 0) await this.repo.saveIndex(this.unindexed.splice(0));
    });
    this.indexWrites = write.catch(() => {}); // the failure reaches this write's caller; later writes go on
    return write;
  }

  /** Records the first failure; the packs still open are given up, so their partial objects go too. */
  private fail(e: unknown): void {
    if (!this.failure) this.failure = e;
    for (const p of this.current.values()) {
      p.closed = true;
      discard(p);
      this.settled(p);
    }
    this.current.clear();
    this.wake();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}
