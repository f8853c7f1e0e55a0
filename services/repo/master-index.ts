/**
 * The in-memory union of all index files: blob ID -> where it is stored.
 * Keys are 32-char latin1 strings of the blob ID; one Map entry per blob.
 */
import { idKey } from './ids.ts';
import { packName, type PackKind } from './layout.ts';
import type { BlobType } from './blob.ts';
import type { PackEntry } from './index-file.ts';

export interface PackRef {
  readonly id: Uint8Array;
  readonly name: string;
  readonly kind: PackKind;
  readonly epk: Uint8Array;
  /** End of the last blob the index knows in this pack: a read up to here stays inside the pack. */
  dataEnd: number;
}

export interface BlobLocation {
  readonly pack: PackRef;
  readonly type: BlobType;
  readonly offset: number;
  readonly length: number;
  readonly rawLength: number;
}

export class MasterIndex {
  private readonly blobs = new Map<string, BlobLocation>();
  private readonly packs = new Map<string, PackRef>();
  /** Index object names loaded so far (the hex IDs). */
  readonly indexIds = new Set<string>();

  addPack(p: PackEntry): void {
    const key = idKey(p.id);
    let ref = this.packs.get(key);
    if (!ref) {
      ref = { id: p.id, name: packName(p.kind, p.id), kind: p.kind, epk: p.epk, dataEnd: 0 };
      this.packs.set(key, ref);
    }
    for (const b of p.blobs) {
      ref.dataEnd = Math.max(ref.dataEnd, b.offset + b.length);
      const k = idKey(b.id);
      if (!this.blobs.has(k)) this.blobs.set(k, { pack: ref, type: b.type, offset: b.offset, length: b.length, rawLength: b.rawLength });
    }
  }

  has(id: Uint8Array): boolean {
    return this.blobs.has(idKey(id));
  }

  hasKey(key: string): boolean {
    return this.blobs.has(key);
  }

  get(id: Uint8Array): BlobLocation | undefined {
    return this.blobs.get(idKey(id));
  }

  get blobCount(): number {
    return this.blobs.size;
  }

  get packCount(): number {
    return this.packs.size;
  }

  *allPacks(): IterableIterator<PackRef> {
    yield* this.packs.values();
  }

  *allBlobs(): IterableIterator<[string, BlobLocation]> {
    yield* this.blobs.entries();
  }
}
