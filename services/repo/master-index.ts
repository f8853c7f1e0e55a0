/**
 * The in-memory union of all index files: blob ID -> where it is stored.
 *
 * Kept in typed arrays, not a Map of objects: 32 bytes of ID plus 17 bytes
 * of location per blob in columns, and an open-addressing table of entry
 * numbers keyed by the ID's first 32 bits (IDs are keyed hashes, so those
 * bits are uniform). About 60 bytes per blob instead of ~200, no object per
 * blob for the collector to trace, and a lookup makes no string. The first
 * location recorded for a blob wins, as with any duplicate in index files.
 *
 * Every ID also goes into `known`, a Bloom filter in shared memory that
 * the chunking threads consult (known-blobs.ts): 2 to 6 bytes more per blob,
 * as its segments double.
 */
import { idKey } from './ids.ts';
import { packName, type PackKind } from './layout.ts';
import type { BlobType } from './blob.ts';
import type { PackEntry } from './index-file.ts';
import { RepoError, RepoErrorCode } from './errors.ts';
import { KnownBlobs } from './known-blobs.ts';

export interface PackRef {
  readonly id: Uint8Array;
  readonly name: string;
  readonly kind: PackKind;
  readonly epk: Uint8Array;
  /** End of the last blob the index knows in this pack: a read up to here stays inside the pack. */
  dataEnd: number;
  /** Named by a prune mark: readable until swept, but never deduplicated against (see usable()). */
  marked?: boolean;
}

export interface BlobLocation {
  readonly pack: PackRef;
  readonly type: BlobType;
  readonly offset: number;
  readonly length: number;
  readonly rawLength: number;
}

/**
 * The index's contents as plain columns (entries 0..count), for the local
 * index cache (index-cache.ts). Not part of the repository format.
 */
export interface IndexColumns {
  readonly count: number;
  readonly ids: Uint8Array;
  readonly packOf: Uint32Array;
  readonly types: Uint8Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly rawLengths: Uint32Array;
  readonly packs: readonly { readonly id: Uint8Array; readonly kind: PackKind; readonly epk: Uint8Array; readonly dataEnd: number }[];
  /** Hex IDs of the index files these entries come from. */
  readonly indexIds: readonly string[];
}

const ID = 32;
const FIRST_CAPACITY = 1024;
const U32_MAX = 0xffffffff;

export class MasterIndex {
  private count = 0;
  private capacity = FIRST_CAPACITY;
  private ids = new Uint8Array(FIRST_CAPACITY * ID);
  private packOf = new Uint32Array(FIRST_CAPACITY);
  private types = new Uint8Array(FIRST_CAPACITY);
  private offsets = new Uint32Array(FIRST_CAPACITY);
  private lengths = new Uint32Array(FIRST_CAPACITY);
  private rawLengths = new Uint32Array(FIRST_CAPACITY);
  /** Entry number + 1 per slot, 0 when empty; the size is a power of two, at least twice `count`. */
  private slots = new Uint32Array(FIRST_CAPACITY * 2);
  private readonly packs = new Map<string, number>();
  private readonly packRefs: PackRef[] = [];
  /** Index object names loaded so far (the hex IDs). */
  readonly indexIds = new Set<string>();
  #known = new KnownBlobs();

  /**
   * Every blob ID in this index, and any other a writer adds (RepoWriter
   * queues a blob here before its pack is saved); see known-blobs.ts.
   */
  get known(): KnownBlobs {
    return this.#known;
  }

  addPack(p: PackEntry): void {
    const key = idKey(p.id);
    let pn = this.packs.get(key);
    if (pn === undefined) {
      pn = this.packRefs.length;
      // Copies: the entry's IDs may be views into a whole decoded index file, which must not stay alive for them.
      this.packRefs.push({ id: new Uint8Array(p.id), name: packName(p.kind, p.id), kind: p.kind, epk: new Uint8Array(p.epk), dataEnd: 0 });
      this.packs.set(key, pn);
    }
    const ref = this.packRefs[pn]!;
    for (const b of p.blobs) {
      if (b.id.length !== ID || b.offset + b.length > U32_MAX || b.rawLength > U32_MAX) {
        throw new RepoError(RepoErrorCode.Corrupt, `an index entry for pack ${ref.name} is malformed (ID of ${b.id.length} bytes, or a blob beyond 4 GiB)`);
      }
      ref.dataEnd = Math.max(ref.dataEnd, b.offset + b.length);
      if (this.find(b.id) >= 0) continue;
      if (this.count === this.capacity) this.grow();
      const e = this.count++;
      this.ids.set(b.id, e * ID);
      this.packOf[e] = pn;
      this.types[e] = b.type;
      this.offsets[e] = b.offset;
      this.lengths[e] = b.length;
      this.rawLengths[e] = b.rawLength;
      this.#known.add(b.id);
      if (this.count * 2 > this.slots.length) this.rehash(this.slots.length * 2);
      else this.place(e);
    }
  }

  /** A copy of the contents as columns. */
  columns(): IndexColumns {
    const n = this.count;
    return {
      count: n,
      ids: this.ids.slice(0, n * ID),
      packOf: this.packOf.slice(0, n),
      types: this.types.slice(0, n),
      offsets: this.offsets.slice(0, n),
      lengths: this.lengths.slice(0, n),
      rawLengths: this.rawLengths.slice(0, n),
      packs: this.packRefs.map((p) => ({ id: p.id, kind: p.kind, epk: p.epk, dataEnd: p.dataEnd })),
      indexIds: [...this.indexIds],
    };
  }

  /**
   * Fills this index, which must be empty, from columns() output. Throws
   * repo.corrupt, leaving the index empty, when they do not fit together.
   */
  fillFrom(c: IndexColumns): void {
    if (this.count > 0 || this.packRefs.length > 0 || this.indexIds.size > 0) throw new Error('MasterIndex.fillFrom needs an empty index');
    const n = c.count;
    const fits = c.ids.length === n * ID && [c.packOf, c.types, c.offsets, c.lengths, c.rawLengths].every((a) => a.length === n) &&
      c.packOf.every((pn) => pn < c.packs.length) && c.packs.every((p) => p.id.length === ID);
    if (!fits) throw new RepoError(RepoErrorCode.Corrupt, 'index columns do not fit together');
    let cap = FIRST_CAPACITY;
    while (cap < n) cap *= 2;
    this.setColumns(c, cap);
    this.count = n;
    this.#known = new KnownBlobs(n);
    for (let e = 0; e < n; e++) this.#known.add(c.ids.subarray(e * ID, e * ID + ID));
    for (const p of c.packs) {
      this.packs.set(idKey(p.id), this.packRefs.length);
      this.packRefs.push({ id: new Uint8Array(p.id), name: packName(p.kind, p.id), kind: p.kind, epk: new Uint8Array(p.epk), dataEnd: p.dataEnd });
    }
    for (const id of c.indexIds) this.indexIds.add(id);
    this.rehash(Math.max(FIRST_CAPACITY * 2, cap * 2));
  }

  /** Whether the blob can be read: it is in some indexed pack. */
  has(id: Uint8Array): boolean {
    return this.find(id) >= 0;
  }

  /**
   * Whether a writer may reference the blob instead of storing it: indexed,
   * in a pack no prune mark names. A marked pack may be deleted by a sweep
   * once the backups running at marking time have ended, so a backup that
   * relied on it could lose data (design.md, "Prune").
   */
  usable(id: Uint8Array): boolean {
    const e = this.find(id);
    return e >= 0 && this.packRefs[this.packOf[e]!]!.marked !== true;
  }

  /** Marks exactly the packs in `names` (pack object names): see usable(). */
  setMarked(names: ReadonlySet<string>): void {
    for (const p of this.packRefs) p.marked = names.has(p.name);
  }

  get(id: Uint8Array): BlobLocation | undefined {
    const e = this.find(id);
    return e < 0 ? undefined : this.location(e);
  }

  get blobCount(): number {
    return this.count;
  }

  get packCount(): number {
    return this.packRefs.length;
  }

  *allPacks(): IterableIterator<PackRef> {
    yield* this.packRefs;
  }

  /** Every blob as [idKey, location]. */
  *allBlobs(): IterableIterator<[string, BlobLocation]> {
    for (let e = 0; e < this.count; e++) yield [idKey(this.ids.subarray(e * ID, e * ID + ID)), this.location(e)];
  }

  private location(e: number): BlobLocation {
    return { pack: this.packRefs[this.packOf[e]!]!, type: this.types[e] as BlobType, offset: this.offsets[e]!, length: this.lengths[e]!, rawLength: this.rawLengths[e]! };
  }

  /** The entry number of `id`, or -1. */
  private find(id: Uint8Array): number {
    if (id.length !== ID) return -1;
    const mask = this.slots.length - 1;
    for (let s = hashOf(id, 0) & mask; ; s = (s + 1) & mask) {
      const v = this.slots[s]!;
      if (v === 0) return -1;
      if (this.idAt(v - 1, id)) return v - 1;
    }
  }

  private idAt(e: number, id: Uint8Array): boolean {
    const ids = this.ids;
    const at = e * ID;
    for (let i = 0; i < ID; i++) if (ids[at + i] !== id[i]) return false;
    return true;
  }

  private place(e: number): void {
    const mask = this.slots.length - 1;
    let s = hashOf(this.ids, e * ID) & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = e + 1;
  }

  private rehash(size: number): void {
    this.slots = new Uint32Array(size);
    for (let e = 0; e < this.count; e++) this.place(e);
  }

  private grow(): void {
    const { ids, packOf, types, offsets, lengths, rawLengths } = this;
    this.setColumns({ ids, packOf, types, offsets, lengths, rawLengths }, this.capacity * 2);
  }

  /** Replaces the entry columns with copies of `src`'s that have room for `cap` entries. */
  private setColumns(src: Pick<IndexColumns, 'ids' | 'packOf' | 'types' | 'offsets' | 'lengths' | 'rawLengths'>, cap: number): void {
    const u8 = (a: Uint8Array, per = 1): Uint8Array<ArrayBuffer> => {
      const b = new Uint8Array(cap * per);
      b.set(a);
      return b;
    };
    const u32 = (a: Uint32Array): Uint32Array<ArrayBuffer> => {
      const b = new Uint32Array(cap);
      b.set(a);
      return b;
    };
    this.ids = u8(src.ids, ID);
    this.packOf = u32(src.packOf);
    this.types = u8(src.types);
    this.offsets = u32(src.offsets);
    this.lengths = u32(src.lengths);
    this.rawLengths = u32(src.rawLengths);
    this.capacity = cap;
  }
}

/** The first four bytes of the ID at `at` as an unsigned integer. */
const hashOf = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
