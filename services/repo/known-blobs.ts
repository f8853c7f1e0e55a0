/**
 * A Bloom filter of blob IDs the repository has, in shared memory, so that
 * the threads that chunk files can tell which chunks need not come back to
 * the main thread at all. A backup that re-reads a changed 100 MiB file
 * usually finds all but a chunk or two already stored; without this filter
 * every one of those chunks was copied out of the read window, transferred
 * and dropped on the main thread.
 *
 * Contract: `mayHave(id)` is true for every ID added before (on any thread
 * that sees the memory), and for a few others (false positives, about 1 in
 * 1,700 when a segment is full). So the filter only ever saves work: whoever
 * acts on a "yes" must confirm it with the index, and read the bytes again
 * when the answer was wrong (see BatchUploader). A stale "no" on another
 * thread costs one transfer and nothing else.
 *
 * Layout: a chain of segments, each a SharedArrayBuffer of 2^b bits holding
 * up to 2^b / 16 IDs; a full segment is followed by one of twice its size,
 * so the filter grows with the index without rebuilding. IDs are keyed
 * hashes with uniform bits, so the eight probes are simply the ID's eight
 * 32-bit words, masked to the segment's size.
 */

const ID = 32;
const PROBES = 8;
const BITS_PER_ID = 16;
const FIRST_IDS = 1 << 16;

/** What a worker needs to query the filter: the segments' shared memory, as the main thread last saw it. */
export type KnownBlobsHandle = readonly SharedArrayBuffer[];

const word = (id: Uint8Array, k: number): number =>
  (id[4 * k]! | (id[4 * k + 1]! << 8) | (id[4 * k + 2]! << 16) | (id[4 * k + 3]! << 24)) >>> 0;

function segmentHas(bits: Uint32Array, id: Uint8Array): boolean {
  const mask = bits.length * 32 - 1;
  for (let k = 0; k < PROBES; k++) {
    const b = word(id, k) & mask;
    if ((bits[b >>> 5]! & (1 << (b & 31))) === 0) return false;
  }
  return true;
}

function anyHas(segments: readonly Uint32Array[], id: Uint8Array): boolean {
  if (id.length !== ID) return false;
  for (const s of segments) if (segmentHas(s, id)) return true;
  return false;
}

/** Read-only view of a filter on another thread. */
export class KnownBlobsView {
  readonly #segments: Uint32Array[];

  constructor(handle: KnownBlobsHandle) {
    this.#segments = handle.map((sab) => new Uint32Array(sab));
  }

  mayHave(id: Uint8Array): boolean {
    return anyHas(this.#segments, id);
  }
}

/** The writable filter, owned by one thread (the main thread's MasterIndex). */
export class KnownBlobs {
  readonly #segments: Uint32Array[] = [];
  #handle: SharedArrayBuffer[] = [];
  /** IDs added to the last segment, and how many it holds before the next is started. */
  #inLast = 0;
  #lastCapacity = 0;

  /** `expected`: how many IDs the caller is about to add, so the first segment fits them all. */
  constructor(expected = 0) {
    let ids = FIRST_IDS;
    while (ids < expected) ids *= 2;
    this.#addSegment(ids);
  }

  add(id: Uint8Array): void {
    if (id.length !== ID) return;
    if (this.#inLast >= this.#lastCapacity) this.#addSegment(this.#lastCapacity * 2);
    const bits = this.#segments[this.#segments.length - 1]!;
    const mask = bits.length * 32 - 1;
    for (let k = 0; k < PROBES; k++) {
      const b = word(id, k) & mask;
      bits[b >>> 5] = bits[b >>> 5]! | (1 << (b & 31));
    }
    this.#inLast++;
  }

  mayHave(id: Uint8Array): boolean {
    return anyHas(this.#segments, id);
  }

  /** The current segments, to post to a worker (shared, not copied). */
  get handle(): KnownBlobsHandle {
    return this.#handle;
  }

  /** Bytes of shared memory the filter holds. */
  get bytes(): number {
    return this.#segments.reduce((n, s) => n + s.byteLength, 0);
  }

  #addSegment(ids: number): void {
    const sab = new SharedArrayBuffer((ids * BITS_PER_ID) / 8);
    this.#segments.push(new Uint32Array(sab));
    this.#handle = [...this.#handle, sab];
    this.#inLast = 0;
    this.#lastCapacity = ids;
  }
}
