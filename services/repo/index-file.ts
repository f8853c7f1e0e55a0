/**
 * Index files (`index/<id>`): which pack holds each blob, at which offset.
 * Payload (canonical MessagePack):
 *   { v: 1, packs: [ { id: bin32, kind: 0|1, epk: bin32,
 *                      blobs: [ [id: bin32, type, offset, length, rawLength], … ] } ] }
 * `epk` repeats the pack header's key field so a reader can derive the pack
 * key without fetching the header. `length` is the sealed length in the pack,
 * `rawLength` the plaintext length.
 */
import { encodeCanonical } from '../codec/canonical-msgpack.ts';
import { MsgpackShapeError, type MsgpackReader } from '../codec/msgpack-reader.ts';
import { decodeVersion1List } from './version1-list.ts';
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

/**
 * Decodes an index file. Read in place with MsgpackReader: every command
 * that touches content loads every index file first, and a generic decoder
 * building arrays per blob was most of that time. IDs are views into
 * `bytes`.
 */
export function decodeIndex(bytes: Uint8Array, what = 'index'): PackEntry[] {
  return decodeVersion1List(bytes, 'packs', (item) => readPack(item, what), 'index', what);
}

function readPack(r: MsgpackReader, what: string): PackEntry {
  let id: Uint8Array | undefined;
  let epk: Uint8Array | undefined;
  let kind = NaN;
  let blobs: BlobEntry[] | undefined;
  for (let k = r.mapHeader(); k > 0; k--) {
    const key = r.str();
    if (key === 'id') id = r.bin();
    else if (key === 'epk') epk = r.bin();
    else if (key === 'kind') kind = r.int();
    else if (key === 'blobs') {
      blobs = [];
      for (let n = r.arrayHeader(); n > 0; n--) {
        const fields = r.arrayHeader();
        if (fields < 5) throw new MsgpackShapeError('a blob entry has fewer than 5 fields');
        blobs.push({ id: r.bin(), type: r.int() as BlobType, offset: r.int(), length: r.int(), rawLength: r.int() });
        for (let extra = fields - 5; extra > 0; extra--) r.skip();
      }
    } else r.skip();
  }
  if (!id || !epk || !blobs) throw new RepoError(RepoErrorCode.Corrupt, `${what} has a malformed pack entry`);
  return { id, kind: kind as PackKind, epk, blobs };
}
