/**
 * zstd per blob/object, skipped where it does not shrink the data.
 *
 * Through zstd-napi's binding with one reusable context per thread, not
 * node:zlib: zstdCompressSync builds a stream object and a zstd context per
 * call, ~27 µs before any compressing, which dominated small files (200,000
 * files of at most 1 KiB: 5 µs a blob with a reused context). The frames are
 * standard zstd either way.
 *
 * Output goes into one reused buffer per thread, not a fresh one per call:
 * every caller seals the compressed bytes at once (which copies them), and
 * zstd-napi's own Compressor allocated a worst-case buffer per call and
 * often a trimmed copy too, dead a moment later but kept until a full
 * collection (tens of MiB per worker thread at a first backup's peak).
 */
import zstd from 'zstd-napi';
import binding from 'zstd-napi/binding.js';
import { RepoError, RepoErrorCode } from './errors.ts';

export const Compression = { None: 0, Zstd: 1 } as const;
export type Compression = (typeof Compression)[keyof typeof Compression];

/**
 * Level 2 rather than zstd's default 3: blobs are chunks of at most a few
 * MiB, where level 3's larger tables find little more. On the mixed
 * benchmark corpus in 1 MiB pieces, level 3 came out 0.56% smaller and took
 * 28% longer (2.50 s against 1.95 s on one core); level 1 was 4.5% larger.
 */
export const DEFAULT_ZSTD_LEVEL = 2;

/**
 * The reused output grows up to the bound for an 8 MiB chunk, the largest
 * of the 1 MiB chunking that older repositories keep (the default's are
 * 2 MiB, and the buffer grows only as far as inputs need); larger inputs,
 * such as a big index object, get a buffer of their own rather than pin
 * that much.
 */
const SCRATCH_MAX = binding.compressBound(8 * 1024 * 1024);

let cctx: InstanceType<typeof binding.CCtx> | undefined;
let scratch = new Uint8Array(0);
let decompressor: InstanceType<typeof zstd.Decompressor> | undefined;

/**
 * Compresses `data` at `level` (codec None, `data` itself, when that does
 * not make it smaller). A Zstd result is a view into this thread's reused
 * output buffer: valid only until the next compress() call on this thread,
 * so seal or copy it first.
 */
export function compress(data: Uint8Array, level: number): { codec: Compression; data: Uint8Array } {
  if (data.length < 64 || level <= 0) return { codec: Compression.None, data };
  const bound = binding.compressBound(data.length);
  if (bound > scratch.length && bound <= SCRATCH_MAX) scratch = new Uint8Array(Math.min(SCRATCH_MAX, Math.max(bound, 2 * scratch.length)));
  const out = bound <= scratch.length ? scratch : new Uint8Array(bound);
  cctx ??= new binding.CCtx();
  const n = cctx.compress(out, data, level);
  return n < data.length ? { codec: Compression.Zstd, data: out.subarray(0, n) } : { codec: Compression.None, data };
}

export function decompress(codec: Compression, data: Uint8Array, what: string): Uint8Array {
  if (codec === Compression.None) return data;
  if (codec !== Compression.Zstd) throw new RepoError(RepoErrorCode.Corrupt, `${what} uses unknown compression ${codec}`);
  try {
    decompressor ??= new zstd.Decompressor();
    return decompressor.decompress(data);
  } catch (cause) {
    throw new RepoError(RepoErrorCode.Corrupt, `${what} failed to decompress`, { cause });
  }
}
