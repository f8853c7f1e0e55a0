/**
 * Pack files: many sealed blobs in one storage object (docs/design.md, "Packs").
 *
 *   "FRYP" | version 1 | kind (0 data, 1 tree) | 0 | 0 | epk (32)      40-byte header
 *   blob 0 | blob 1 | …                                                each AEAD(packKey, codec ‖ payload)
 *   trailer = AEAD(trailerKey, canonical msgpack [[id, type, offset, length, rawLength], …], aad = "FRYP" ‖ header)
 *   trailerLength (u32 little-endian) | "FRYP"
 *
 * The pack ID is SHA-256 of the whole file. The trailer makes every pack
 * self-describing, so the index can be rebuilt from packs alone; its key
 * comes from metaKey (pack-keys.ts), so writers can do that too.
 */
import { open, seal } from '../crypto/aead.ts';
import { encodeCanonical, decodeMsgpack } from '../codec/canonical-msgpack.ts';
import { RepoError, RepoErrorCode } from './errors.ts';
import { sha256 } from './ids.ts';
import type { PackKind } from './layout.ts';
import type { BlobType } from './blob.ts';
import type { BlobEntry, PackEntry } from './index-file.ts';

export const PACK_HEADER_BYTES = 40;
const MAGIC = Buffer.from('FRYP', 'latin1');

function header(kind: PackKind, epk: Uint8Array): Uint8Array {
  const h = new Uint8Array(PACK_HEADER_BYTES);
  h.set(MAGIC, 0);
  h[4] = 1;
  h[5] = kind;
  h.set(epk, 8);
  return h;
}

const trailerAad = (h: Uint8Array): Uint8Array => Buffer.concat([MAGIC, h]);

/**
 * Collects sealed blobs for one pack in memory; finish() produces the file.
 * Blobs are copied into one buffer as they arrive, which the caller may
 * hand in and take back for the next pack once the file is saved: a fresh
 * pack-sized allocation per pack costs its page faults again every time,
 * while copying into memory already mapped costs only the copy.
 */
export class PackBuilder {
  readonly kind: PackKind;
  readonly epk: Uint8Array;
  readonly key: Uint8Array;
  private readonly trailerKey: Uint8Array;
  private readonly entries: BlobEntry[] = [];
  private buf: Uint8Array;
  private offset = PACK_HEADER_BYTES;

  constructor(kind: PackKind, epk: Uint8Array, key: Uint8Array, trailerKey: Uint8Array, buffer?: Uint8Array) {
    this.kind = kind;
    this.epk = epk;
    this.key = key;
    this.trailerKey = trailerKey;
    this.buf = buffer !== undefined && buffer.length >= PACK_HEADER_BYTES ? buffer : new Uint8Array(64 * 1024);
    this.buf.set(header(kind, epk), 0);
  }

  get size(): number {
    return this.offset;
  }

  get blobCount(): number {
    return this.entries.length;
  }

  /** The buffer the pack is built in: reusable once finish()'s bytes are no longer needed. It grows when a pack outgrows it. */
  get buffer(): Uint8Array {
    return this.buf;
  }

  append(id: Uint8Array, type: BlobType, sealed: Uint8Array, rawLength: number): void {
    this.entries.push({ id, type, offset: this.offset, length: sealed.length, rawLength });
    this.put(sealed);
  }

  /** The pack file: a view of buffer, valid until the buffer is reused. */
  finish(): { id: Uint8Array; bytes: Uint8Array; entry: Omit<PackEntry, 'id'> } {
    const h = this.buf.subarray(0, PACK_HEADER_BYTES);
    const list = encodeCanonical(this.entries.map((e) => [e.id, e.type, e.offset, e.length, e.rawLength]));
    const trailer = seal(this.trailerKey, list, trailerAad(h));
    const tail = new Uint8Array(8);
    new DataView(tail.buffer).setUint32(0, trailer.length, true);
    tail.set(MAGIC, 4);
    this.put(trailer);
    this.put(tail);
    const bytes = this.buf.subarray(0, this.offset);
    return { id: sha256(bytes), bytes, entry: { kind: this.kind, epk: this.epk, blobs: this.entries } };
  }

  private put(part: Uint8Array): void {
    const end = this.offset + part.length;
    if (end > this.buf.length) {
      const grown = new Uint8Array(Math.max(end, 2 * this.buf.length));
      grown.set(this.buf.subarray(0, this.offset), 0);
      this.buf = grown;
    }
    this.buf.set(part, this.offset);
    this.offset = end;
  }
}

/** Parses a pack's header and trailer (given the whole pack, or its header and tail). Throws repo.corrupt on any mismatch. */
export function readPackTrailer(bytes: Uint8Array, trailerKeyFor: (epk: Uint8Array) => Uint8Array, what: string): Omit<PackEntry, 'id'> {
  const bad = (msg: string, cause?: unknown) => new RepoError(RepoErrorCode.Corrupt, `${what}: ${msg}`, { details: { pack: what }, cause });
  if (bytes.length < PACK_HEADER_BYTES + 8 || !MAGIC.equals(bytes.subarray(0, 4)) || !MAGIC.equals(bytes.subarray(bytes.length - 4))) {
    throw bad('not a pack (bad magic or truncated)');
  }
  if (bytes[4] !== 1) throw bad(`unsupported pack version ${bytes[4]}`);
  const kind = bytes[5] as PackKind;
  const epk = bytes.slice(8, PACK_HEADER_BYTES);
  const tlen = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 8, 4).getUint32(0, true);
  const tstart = bytes.length - 8 - tlen;
  if (tstart < PACK_HEADER_BYTES) throw bad('trailer length out of range');
  let list: unknown;
  try {
    const plain = open(trailerKeyFor(epk), bytes.subarray(tstart, bytes.length - 8), trailerAad(bytes.subarray(0, PACK_HEADER_BYTES)), `${what} trailer`);
    list = decodeMsgpack(plain, `${what} trailer`);
  } catch (cause) {
    throw bad('trailer does not open', cause);
  }
  if (!Array.isArray(list)) throw bad('trailer is not a list');
  const blobs = list.map((b: unknown[]) => ({
    id: b[0] as Uint8Array,
    type: Number(b[1]) as BlobType,
    offset: Number(b[2]),
    length: Number(b[3]),
    rawLength: Number(b[4]),
  }));
  return { kind, epk, blobs };
}
