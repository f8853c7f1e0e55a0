/**
 * Index files (`index/<id>`): which pack holds each blob, at which offset.
 * Payload (canonical MessagePack):
 *   { v: 1, packs: [ { id: bin32, kind: 0|1, epk: bin32,
 *                      blobs: [ [id: bin32, type, offset, length, rawLength], … ] } ] }
 * `epk` repeats the pack header's key field so a reader can derive the pack
 * key without fetching the header. `length` is the sealed length in the pack,
 * `rawLength` the plaintext length.
 */
import { encodeCanonical, decodeMsgpack } from '../codec/canonical-msgpack.ts';
import { RepoError, RepoErrorCode } from './errors.ts';
import type { PackKind } from './layout.ts';
import type { BlobType } from './blob.ts';

export interface BlobEntry {
  readonly id: Uint8Array;
  readonly type: BlobType;
  readonly offset: number;
  readonly length: number;
  readonly rawLength: number;
}

export interface PackEntry {
  readonly id: Uint8Array;
  readonly kind: PackKind;
  readonly epk: Uint8Array;
  readonly blobs: readonly BlobEntry[];
}

export function encodeIndex(packs: readonly PackEntry[]): Uint8Array {
  return encodeCanonical({
    v: 1,
    packs: packs.map((p) => ({ id: p.id, kind: p.kind, epk: p.epk, blobs: p.blobs.map((b) => [b.id, b.type, b.offset, b.length, b.rawLength]) })),
  });
}

export function decodeIndex(bytes: Uint8Array, what = 'index'): PackEntry[] {
  const o = decodeMsgpack(bytes, what) as { v?: unknown; packs?: unknown };
  if (o.v !== 1 || !Array.isArray(o.packs)) throw new RepoError(RepoErrorCode.Corrupt, `${what} is not a version 1 index`);
  return o.packs.map((p: Record<string, unknown>) => {
    if (!(p.id instanceof Uint8Array) || !(p.epk instanceof Uint8Array) || !Array.isArray(p.blobs)) {
      throw new RepoError(RepoErrorCode.Corrupt, `${what} has a malformed pack entry`);
    }
    return {
      id: p.id,
      kind: Number(p.kind) as PackKind,
      epk: p.epk,
      blobs: p.blobs.map((b: unknown[]) => ({
        id: b[0] as Uint8Array,
        type: Number(b[1]) as BlobType,
        offset: Number(b[2]),
        length: Number(b[3]),
        rawLength: Number(b[4]),
      })),
    };
  });
}
