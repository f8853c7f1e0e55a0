/**
 * The repository config object (`config`), sealed like every other object.
 * It records what every writer must agree on: chunking parameters and gear
 * seed, target pack size, compression level, and the tenant public key that
 * content is sealed to.
 */
import { encodeCanonical, decodeMsgpack } from '../codec/canonical-msgpack.ts';
import { RepoError, RepoErrorCode } from './errors.ts';

export interface ChunkingConfig {
  readonly minSize: number;
  readonly avgSize: number;
  readonly maxSize: number;
  readonly seed: Uint8Array;
}

export interface RepoConfig {
  readonly version: 1;
  readonly id: string;
  readonly chunker: ChunkingConfig;
  readonly packSize: number;
  readonly zstdLevel: number;
  readonly publicKey: Uint8Array;
}

export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;
export const MAX_PACK_SIZE = 128 * 1024 * 1024;
export const MIN_PACK_SIZE = 1024 * 1024;

export function encodeConfig(c: RepoConfig): Uint8Array {
  return encodeCanonical({
    v: c.version,
    id: c.id,
    chunker: { min: c.chunker.minSize, avg: c.chunker.avgSize, max: c.chunker.maxSize, seed: c.chunker.seed },
    pack: c.packSize,
    zstd: c.zstdLevel,
    pub: c.publicKey,
  });
}

function bad(msg: string): never {
  throw new RepoError(RepoErrorCode.Corrupt, `repository config is invalid: ${msg}`);
}

export function decodeConfig(bytes: Uint8Array): RepoConfig {
  const o = decodeMsgpack(bytes, 'repository config') as Record<string, unknown>;
  if (o.v !== 1) throw new RepoError(RepoErrorCode.Unsupported, `repository format version ${String(o.v)} is not supported (this Ferry reads 1)`);
  const ch = o.chunker as Record<string, unknown> | undefined;
  if (!ch || typeof ch.min !== 'number' || typeof ch.avg !== 'number' || typeof ch.max !== 'number' || !(ch.seed instanceof Uint8Array)) bad('chunker');
  if (typeof o.pack !== 'number' || typeof o.zstd !== 'number' || !(o.pub instanceof Uint8Array) || typeof o.id !== 'string') bad('fields');
  return {
    version: 1,
    id: o.id,
    chunker: { minSize: ch.min, avgSize: ch.avg, maxSize: ch.max, seed: ch.seed },
    packSize: o.pack,
    zstdLevel: o.zstd,
    publicKey: o.pub,
  };
}
