/**
 * FastCDC content-defined chunking. PART OF THE ON-DISK FORMAT: chunk
 * boundaries decide which chunks exist, so any change here (even one that
 * "improves" the algorithm) breaks deduplication against existing
 * repositories. The test vectors in chunker.test.ts pin it down.
 *
 * Algorithm, bit for bit:
 *
 * - Parameters: minSize < avgSize < maxSize, avgSize a power of two
 *   (default 512 KiB / 1 MiB / 8 MiB). Let b = log2(avgSize).
 * - Gear table: 256 uint32 values from the repository's 32-byte seed,
 *   gear[i] = readUInt32LE(SHA-256(seed || byte(i)), 0) (see gear.ts).
 * - Rolling hash: 32-bit unsigned, h = ((h << 1) + gear[byte]) mod 2^32.
 * - maskS = top (b + 2) bits of a 32-bit word set (1 MiB: 0xFFFFFC00),
 *   maskL = top (b - 2) bits set (1 MiB: 0xFFFFC000). The stricter mask
 *   applies before the average size and the looser one after it
 *   ("normalized chunking"), which narrows the size distribution.
 * - Cut search for a chunk starting at s with n bytes remaining:
 *     if n <= minSize: the rest is one chunk (length n).
 *     h = 0   (restarts for every chunk)
 *     for i in [minSize, min(avgSize, n)):  h = roll(h, data[s+i]); if (h & maskS) == 0: length = i + 1
 *     for i in [that, min(maxSize, n)):     h = roll(h, data[s+i]); if (h & maskL) == 0: length = i + 1
 *     otherwise length = min(maxSize, n).
 *   The first minSize bytes of a chunk are never hashed (cut-point
 *   skipping), so the hash at i depends only on bytes s+minSize .. s+i.
 * - The stream is cut greedily from its start: each chunk begins where the
 *   previous one ended. Only the last chunk may be shorter than minSize.
 *
 * Streaming equals whole-buffer chunking because a cut decision for a chunk
 * at s depends only on data[s, s + maxSize): streaming callers decide only
 * once they hold maxSize bytes past s, or the end of the input.
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { openSourceFile } from './open-source-file.ts';
import { FerryError } from '../../protocol/errors.ts';
import { GEAR_SEED_BYTES, GearErrorCode, gearTable } from './gear.ts';

export { GEAR_SEED_BYTES, gearTable };

export interface ChunkerParams {
  readonly minSize: number;
  readonly avgSize: number;
  readonly maxSize: number;
}

export const ChunkerErrorCode = {
  BadParams: 'chunker.bad-params',
  BadSeed: GearErrorCode.BadSeed,
  BadRange: 'chunker.bad-range',
  Io: 'chunker.io',
} as const;

// avgSize up to 2^30 keeps both masks within a 32-bit word (b + 2 <= 32);
// at least 2^3 keeps maskL non-empty (b - 2 >= 1).
const MIN_AVG_BITS = 3;
const MAX_AVG_BITS = 30;
// Streaming buffers 2 * maxSize bytes; keep that a sane allocation.
const MAX_MAX_SIZE = 2 ** 30;

/** Throws FerryError `chunker.bad-params` unless params satisfy the format's constraints. */
export function validateChunkerParams(params: ChunkerParams): void {
  const { minSize, avgSize, maxSize } = params;
  const bad = (why: string): FerryError =>
    new FerryError(ChunkerErrorCode.BadParams, `invalid chunker params: ${why}`, {
      details: { minSize, avgSize, maxSize },
    });
  for (const v of [minSize, avgSize, maxSize]) {
    if (!Number.isSafeInteger(v) || v < 1) throw bad('sizes must be positive integers');
  }
  if (!(minSize < avgSize && avgSize < maxSize)) throw bad('need minSize < avgSize < maxSize');
  if ((avgSize & (avgSize - 1)) !== 0) throw bad('avgSize must be a power of two');
  const bits = 31 - Math.clz32(avgSize);
  if (bits < MIN_AVG_BITS || bits > MAX_AVG_BITS) throw bad(`avgSize must be 2^${MIN_AVG_BITS}..2^${MAX_AVG_BITS}`);
  if (maxSize > MAX_MAX_SIZE) throw bad(`maxSize must be <= ${MAX_MAX_SIZE}`);
}

/**
 * Chunker parameters for a new repository whose chunks average `avgSize`
 * bytes (a power of two): chunks of at least half that and at most four
 * times it. Past the average a cut falls every avgSize/4 bytes on average,
 * so a chunk of ordinary data reaches four times the average with odds
 * below e^-12; only long runs of one byte pattern are cut at maxSize.
 */
export function chunkerParamsForAverage(avgSize: number): ChunkerParams {
  const params = { minSize: avgSize / 2, avgSize, maxSize: 4 * avgSize };
  validateChunkerParams(params);
  return Object.freeze(params);
}

/**
 * The chunk size of new repositories: 512 KiB on average. Halving restic's
 * 1 MiB finds more of the repeated regions inside large files (disk images,
 * databases, archives), whose copies rarely hold a whole 1 MiB chunk, for
 * twice the index entries per byte of large files and half the largest
 * file one message can carry the content list of (design.md §9). On the
 * benchmark's mixed corpus the stored data came out 4% smaller
 * (docs/BENCHMARKS.md); 256 KiB, 8% smaller, would halve that limit
 * again. Existing repositories keep the parameters in their config.
 */
export const DEFAULT_CHUNKER_PARAMS: ChunkerParams = chunkerParamsForAverage(512 * 1024);

function checkGear(gear: Uint32Array): void {
  if (gear.length !== 256) {
    throw new FerryError(ChunkerErrorCode.BadParams, `gear table must have 256 entries, got ${gear.length}`, {
      details: { length: gear.length },
    });
  }
}

/** Top `bits` bits of a 32-bit word, as an int32 (so it compares against the int32 hash below). */
function topBits(bits: number): number {
  return bits >= 32 ? -1 : (-1 << (32 - bits)) | 0;
}

/**
 * Length of the chunk that starts at `start`, given that data[start, end) is
 * available.
 *
 * `eof` says no data follows `end`. With eof (the default) the answer is
 * always final (0 only when start === end). Without eof the answer is final
 * when a cut point lies inside the available bytes or end - start >= maxSize;
 * otherwise findCut returns 0, meaning "supply more data and ask again".
 * Asking again with `from` set to the previous `end` skips the bytes already
 * found to hold no cut, so feeding a chunk in pieces scans it once.
 *
 * Pure: no allocation, no state; O(min(n, maxSize) - max(minSize, from - start)) work.
 */
export function findCut(
  data: Uint8Array,
  start: number,
  end: number,
  gear: Uint32Array,
  params: ChunkerParams = DEFAULT_CHUNKER_PARAMS,
  eof = true,
  from = start,
): number {
  validateChunkerParams(params);
  checkGear(gear);
  if (!(Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(from) && 0 <= start && start <= from && from <= end && end <= data.length)) {
    throw new FerryError(ChunkerErrorCode.BadRange, `bad range [${start}, ${end}) from ${from} of ${data.length} bytes`, {
      details: { start, end, from, length: data.length },
    });
  }
  const { minSize, avgSize, maxSize } = params;
  const n = end - start;
  const complete = eof || n >= maxSize;
  if (n <= minSize) return complete ? n : 0;

  const bits = 31 - Math.clz32(avgSize);
  const maskS = topBits(bits + 2);
  const maskL = topBits(bits - 2);
  // Signed view: int32 arithmetic keeps the loop in small integers (the low 32
  // bits are identical to the unsigned definition; masks only test for zero).
  const g = new Int32Array(gear.buffer, gear.byteOffset, 256);
  const normal = start + Math.min(avgSize, n);
  const limit = start + Math.min(maxSize, n);
  let i = Math.max(start + minSize, from);
  // The hash at a byte depends on it and the 31 bytes before it only (each byte's
  // term is shifted out after 32 steps), so resuming rebuilds it from those.
  let h = 0;
  for (let k = Math.max(start + minSize, i - 31); k < i; k++) h = ((h << 1) + g[data[k]!]!) | 0;
  // One inner loop run twice (maskS up to the average size, then maskL),
  // rather than two loops: V8 optimizes the first loop on-stack before the
  // second has type feedback, and two loops kept deoptimizing on every call.
  for (let phase = 0; phase < 2; phase++) {
    const stop = phase === 0 ? normal : limit;
    const mask = phase === 0 ? maskS : maskL;
    for (; i < stop; i++) {
      h = ((h << 1) + g[data[i]!]!) | 0;
      if ((h & mask) === 0) return i - start + 1;
    }
  }
  return complete ? limit - start : 0;
}

/** Lengths of all chunks of a whole in-memory buffer, in order. */
export function chunkLengths(
  data: Uint8Array,
  gear: Uint32Array,
  params: ChunkerParams = DEFAULT_CHUNKER_PARAMS,
): number[] {
  const lengths: number[] = [];
  for (let pos = 0; pos < data.length; ) {
    const len = findCut(data, pos, data.length, gear, params);
    lengths.push(len);
    pos += len;
  }
  return lengths;
}

/**
 * Holds not-yet-chunked bytes: data[pos, len) of buf. Grows on demand up to
 * its capacity (small inputs stay small) and compacts consumed bytes away.
 * The capacity exceeds maxSize, so a chunk in progress always fits.
 */
class Window {
  buf: Uint8Array;
  pos = 0;
  len = 0;
  readonly #cap: number;

  constructor(cap: number, initial: number, scratch?: Uint8Array) {
    this.#cap = cap;
    this.buf = scratch !== undefined && scratch.length >= cap ? scratch.subarray(0, cap) : new Uint8Array(Math.max(1, Math.min(cap, initial)));
  }

  get size(): number {
    return this.len - this.pos;
  }

  get room(): number {
    return this.buf.length - this.len;
  }

  /**
   * Ensures room > 0. Only called while size < maxSize < cap, so at full
   * capacity pos > 0. Compaction moves the chunk in progress to the front;
   * the window cannot fill up again before that chunk is cut (it would then
   * hold more than maxSize bytes of it), so each byte is copied at most
   * once: at most one extra pass over the input.
   */
  makeRoom(): void {
    if (this.room > 0) return;
    if (this.pos > 0 && (this.pos * 2 >= this.buf.length || this.buf.length >= this.#cap)) {
      this.buf.copyWithin(0, this.pos, this.len);
      this.len -= this.pos;
      this.pos = 0;
      return;
    }
    const next = new Uint8Array(Math.min(this.#cap, Math.max(this.buf.length * 2, 1 << 16)));
    next.set(this.buf.subarray(this.pos, this.len));
    this.len -= this.pos;
    this.pos = 0;
    this.buf = next;
  }

  /** Cuts one chunk off the front: a fresh copy, or a view valid until the window changes. */
  take(length: number, view = false): Uint8Array {
    const chunk = view ? this.buf.subarray(this.pos, this.pos + length) : this.buf.slice(this.pos, this.pos + length);
    this.pos += length;
    return chunk;
  }
}

/**
 * Chunks a stream of byte pieces of any sizes. Boundaries are identical to
 * chunkLengths() over the concatenation. Yields fresh buffers (own
 * ArrayBuffer, exact size) that the consumer may keep or transfer. Pieces are
 * not retained after the next one is requested, so the source may reuse its
 * buffers. Buffers at most 2 * maxSize bytes.
 */
export async function* chunkStream(
  source: AsyncIterable<Uint8Array>,
  gear: Uint32Array,
  params: ChunkerParams = DEFAULT_CHUNKER_PARAMS,
): AsyncGenerator<Uint8Array> {
  validateChunkerParams(params);
  checkGear(gear);
  const { maxSize } = params;
  let win: Window | undefined;
  for await (const piece of source) {
    let off = 0;
    while (off < piece.length) {
      if (win === undefined || win.size === 0) {
        // Nothing buffered: cut straight from the piece while it holds a full
        // window, sparing a copy of large pieces.
        while (piece.length - off >= maxSize) {
          const len = findCut(piece, off, piece.length, gear, params);
          yield piece.slice(off, off + len);
          off += len;
        }
        if (off === piece.length) break;
      }
      win ??= new Window(2 * maxSize, piece.length - off);
      win.makeRoom();
      const n = Math.min(win.room, piece.length - off);
      win.buf.set(piece.subarray(off, off + n), win.len);
      win.len += n;
      off += n;
      while (win.size >= maxSize) yield win.take(findCut(win.buf, win.pos, win.len, gear, params));
    }
  }
  if (win === undefined) return;
  while (win.size > 0) yield win.take(findCut(win.buf, win.pos, win.len, gear, params, true));
}

/** Errors reading a source file that a later retry may not meet: the system was busy, not the file at fault. */
export const RETRYABLE_IO_CODES: ReadonlySet<string> = new Set(['EAGAIN', 'EBUSY', 'EINTR', 'EMFILE', 'ENFILE']);

/** Bytes chunkFile() asks for per read by default. */
export const DEFAULT_READ_BYTES = 1 << 20;

/**
 * The read window chunkFile() needs: the longest chunk plus one read. A
 * chunk is cut as soon as its end is read, so no more is ever held (9 MiB
 * with the default parameters; twice maxSize cost each blob worker 7 MiB
 * more for nothing).
 */
export function fileWindowBytes(params: ChunkerParams, readSize = DEFAULT_READ_BYTES): number {
  return params.maxSize + readSize;
}

export interface ChunkFileOptions {
  /** Most bytes requested per read() call (default 1 MiB). Does not change boundaries. */
  readonly bufferSize?: number;
  /**
   * Byte to start at (default 0). Cuts depend only on the bytes since the
   * previous cut, so starting at a boundary of the whole-file chunking gives
   * that chunking's remaining chunks.
   */
  readonly start?: number;
  /**
   * A buffer of at least fileWindowBytes() bytes to use as the read window instead
   * of allocating one per call; nothing else may use it while the generator
   * runs. Callers that chunk many files on one thread save that much garbage
   * per file.
   */
  readonly scratch?: Uint8Array;
  /**
   * Yield views into the read window, valid only until the next chunk is
   * asked for, instead of fresh copies: for a consumer that keeps few of the
   * chunks, which then copies just those.
   */
  readonly views?: boolean;
}

/**
 * Chunks a file, reading into a window of fileWindowBytes() bytes
 * (sized down for small files). Boundaries equal chunkLengths() over the
 * file's bytes; yielded chunks are fresh buffers (or views, see
 * ChunkFileOptions.views). The file is closed when
 * the generator finishes or is abandoned (return()). I/O failures throw
 * FerryError `chunker.io` carrying the OS error as cause.
 *
 * Synchronous on purpose: it runs on worker threads, where blocking is the
 * point. A worker then scans one file at a time, so it needs one read window,
 * where interleaved async scans each held their own.
 */
export function* chunkFile(
  path: string,
  gear: Uint32Array,
  params: ChunkerParams = DEFAULT_CHUNKER_PARAMS,
  opts: ChunkFileOptions = {},
): Generator<Uint8Array> {
  validateChunkerParams(params);
  checkGear(gear);
  const readSize = opts.bufferSize ?? DEFAULT_READ_BYTES;
  if (!Number.isSafeInteger(readSize) || readSize < 1) {
    throw new FerryError(ChunkerErrorCode.BadParams, `bufferSize must be a positive integer, got ${readSize}`);
  }
  if (opts.start !== undefined && !(Number.isSafeInteger(opts.start) && opts.start >= 0)) {
    throw new FerryError(ChunkerErrorCode.BadParams, `start must be a non-negative integer, got ${opts.start}`);
  }
  const { maxSize } = params;
  const views = opts.views === true;
  const ioError = (op: string, cause: unknown): FerryError => {
    const code = (cause as { code?: unknown } | null)?.code;
    return new FerryError(ChunkerErrorCode.Io, `${op} ${path}: ${(cause as Error)?.message ?? String(cause)}`, {
      retryable: typeof code === 'string' && RETRYABLE_IO_CODES.has(code),
      details: { path, op, errno: typeof code === 'string' ? code : undefined },
      cause,
    });
  };
  let fd: number;
  try {
    fd = openSourceFile(path);
  } catch (err) {
    throw ioError('open', err);
  }
  try {
    let size: number;
    try {
      size = fstatSync(fd).size;
    } catch (err) {
      throw ioError('stat', err);
    }
    let position = opts.start ?? 0;
    // +1 so a file that fits is read and its EOF seen without growing.
    const win = new Window(fileWindowBytes(params, readSize), Math.max(0, size - position) + 1, opts.scratch);
    let eof = false;
    // Bytes at the front of the window known to hold no cut. A chunk is cut
    // as soon as its end is read, not once maxSize bytes are held, so a
    // caller that stops after a few chunks has read little beyond them.
    let scanned = 0;
    for (;;) {
      if (win.size > 0) {
        const n = findCut(win.buf, win.pos, win.len, gear, params, eof, win.pos + scanned);
        if (n > 0) {
          yield win.take(n, views);
          scanned = 0;
          continue;
        }
        scanned = win.size;
      } else if (eof) {
        break;
      }
      win.makeRoom();
      const want = Math.min(readSize, win.room);
      let bytesRead: number;
      try {
        bytesRead = readSync(fd, win.buf, win.len, want, position);
      } catch (err) {
        throw ioError('read', err);
      }
      if (bytesRead === 0) eof = true;
      win.len += bytesRead;
      position += bytesRead;
    }
  } finally {
    closeSync(fd);
  }
}
