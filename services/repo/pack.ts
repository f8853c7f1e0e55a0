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
import { createHash } from 'node:crypto';
import type { ObjectWriter } from '../storage/storage.ts';
import { releaseBuffer } from '../buffers/release-buffer.ts';
import type { PackKind } from './layout.ts';
import type { BlobType } from './blob.ts';
import type { BlobEntry, PackEntry } from './index-file.ts';

export const PACK_HEADER_BYTES = 40;
/** Sealed blobs smaller than this are written to storage together, up to about this much at once. */
const GATHER_BYTES = 1024 * 1024;
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
 * Writes one pack blob by blob into an ObjectWriter, so a pack is never held
 * in memory whole: each sealed blob goes out as it arrives, and the pack ID
 * (SHA-256 of the whole file) is hashed on the way. finish() appends the
 * trailer and returns the ID; the caller then commits the writer under
 * packName(kind, id), or aborts it.
 */
export class PackBuilder {
  readonly kind: PackKind;
  readonly epk: Uint8Array;
  readonly key: Uint8Array;
  private readonly trailerKey: Uint8Array;
  private readonly header: Uint8Array;
  private readonly out: Promise<ObjectWriter>;
  private readonly entries: BlobEntry[] = [];
  private readonly hash = createHash('sha256');
  /** Writes not settled yet; finish() waits for them and raises the first failure. */
  private readonly writes = new Set<Promise<void>>();
  private failure: unknown;
  private offset = 0;
  /** Small pieces gathered into one write: a tree pack holds thousands of blobs of a few hundred bytes. */
  private gathered: Uint8Array[] = [];
  private gatheredBytes = 0;
  /** The writer gathers pieces itself (ObjectWriter.gathers): pieces go to it as they come. */
  private writerGathers = false;

  /** `out` may still be starting: pieces are written, in order, once it is there. */
  constructor(kind: PackKind, epk: Uint8Array, key: Uint8Array, trailerKey: Uint8Array, out: Promise<ObjectWriter>) {
    this.kind = kind;
    this.epk = epk;
    this.key = key;
    this.trailerKey = trailerKey;
    this.out = out;
    out.then((w) => (this.writerGathers = w.gathers === true), () => {});
    this.header = header(kind, epk);
    this.put(this.header.slice()); // a copy: the header is kept for the trailer's AAD, and what is put is released once written
  }

  get size(): number {
    return this.offset;
  }

  get blobCount(): number {
    return this.entries.length;
  }

  /** Takes `sealed`: the caller must not use it again (its memory is released once written). */
  append(id: Uint8Array, type: BlobType, sealed: Uint8Array, rawLength: number): void {
    this.entries.push({ id, type, offset: this.offset, length: sealed.length, rawLength });
    this.put(sealed);
  }

  /** Writes the trailer and waits for every write; then the pack's ID and size. */
  async finish(): Promise<{ id: Uint8Array; size: number; entry: Omit<PackEntry, 'id'> }> {
    const list = encodeCanonical(this.entries.map((e) => [e.id, e.type, e.offset, e.length, e.rawLength]));
    const trailer = seal(this.trailerKey, list, trailerAad(this.header));
    const tail = new Uint8Array(8);
    new DataView(tail.buffer).setUint32(0, trailer.length, true);
    tail.set(MAGIC, 4);
    this.put(trailer);
    this.put(tail);
    this.writeGathered();
    await Promise.allSettled([...this.writes]);
    if (this.failure !== undefined) throw this.failure;
    return { id: new Uint8Array(this.hash.digest()), size: this.offset, entry: { kind: this.kind, epk: this.epk, blobs: this.entries } };
  }

  private put(part: Uint8Array): void {
    this.hash.update(part);
    this.offset += part.length;
    if (part.length >= GATHER_BYTES || this.writerGathers) {
      this.writeGathered();
      this.write(part);
      return;
    }
    this.gathered.push(part);
    this.gatheredBytes += part.length;
    if (this.gatheredBytes >= GATHER_BYTES) this.writeGathered();
  }

  private writeGathered(): void {
    if (this.gathered.length === 0) return;
    const parts = this.gathered;
    this.gathered = [];
    this.gatheredBytes = 0;
    if (parts.length === 1) {
      this.write(parts[0]!);
      return;
    }
    const joined = Buffer.concat(parts);
    for (const p of parts) releaseBuffer(p);
    this.write(joined);
  }

  /**
   * Writes `part` after the writes before it. The builder owns every part
   * (append() takes the sealed blob), and a writer does not read a piece
   * once its write settled: its memory is released then (releaseBuffer).
   */
  private write(part: Uint8Array): void {
    // Callbacks on one promise run in the order they were added: writes stay in order.
    const done = this.out.then((w) => w.write(part));
    this.writes.add(done);
    done.then(
      () => {
        this.writes.delete(done);
        releaseBuffer(part);
      },
      (err: unknown) => {
        this.failure ??= err;
        this.writes.delete(done);
      },
    );
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
