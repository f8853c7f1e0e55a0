/** zstd per blob/object, skipped where it does not shrink the data. */
import { zstdCompressSync, zstdDecompressSync, constants } from 'node:zlib';
import { RepoError, RepoErrorCode } from './errors.ts';

export const Compression = { None: 0, Zstd: 1 } as const;
export type Compression = (typeof Compression)[keyof typeof Compression];

export const DEFAULT_ZSTD_LEVEL = 3;

export function compress(data: Uint8Array, level: number): { codec: Compression; data: Uint8Array } {
  if (data.length < 64 || level <= 0) return { codec: Compression.None, data };
  // One output buffer big enough for any result we keep (we keep only results
  // smaller than the input), instead of 16 KiB pieces concatenated at the end.
  const z = zstdCompressSync(data, { chunkSize: Math.max(64, data.length + 64), params: { [constants.ZSTD_c_compressionLevel]: level } });
  return z.length < data.length ? { codec: Compression.Zstd, data: z } : { codec: Compression.None, data };
}

export function decompress(codec: Compression, data: Uint8Array, what: string): Uint8Array {
  if (codec === Compression.None) return data;
  if (codec !== Compression.Zstd) throw new RepoError(RepoErrorCode.Corrupt, `${what} uses unknown compression ${codec}`);
  try {
    return zstdDecompressSync(data);
  } catch (cause) {
    throw new RepoError(RepoErrorCode.Corrupt, `${what} failed to decompress`, { cause });
  }
}
