/**
 * Passphrase stretching with scrypt, a memory-hard KDF built into Node.
 * Parameters are stored beside the salt in every key file, so they can be
 * raised later without breaking old keys.
 */
import { scrypt as scryptCb, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { CryptoError, CryptoErrorCode } from './errors.ts';

const scrypt = promisify(scryptCb) as (pw: string | Uint8Array, salt: Uint8Array, len: number, o: object) => Promise<Buffer>;

export interface KdfParams {
  readonly alg: 'scrypt';
  /** CPU/memory cost, a power of two. Memory used is 128 * N * r bytes. */
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Uint8Array;
}

/**
 * 2^16 * 8 * 128 = 64 MiB and about a quarter second per unlock. Every
 * command that opens the repository allocates this much once, so it bounds
 * peak memory from below; restic caps its scrypt at 60 MiB.
 */
export const DEFAULT_KDF_MEMORY_MIB = 64;
export const MIN_KDF_MEMORY_MIB = 1;

export function newKdfParams(memoryMiB: number = DEFAULT_KDF_MEMORY_MIB): KdfParams {
  if (!Number.isInteger(memoryMiB) || memoryMiB < MIN_KDF_MEMORY_MIB || memoryMiB > 4096) {
    throw new CryptoError(CryptoErrorCode.BadFormat, `KDF memory must be a whole number of MiB between ${MIN_KDF_MEMORY_MIB} and 4096, got ${memoryMiB}`);
  }
  const r = 8;
  // Largest power of two N with 128*N*r <= memory.
  const N = 2 ** Math.floor(Math.log2((memoryMiB * 1024 * 1024) / (128 * r)));
  return { alg: 'scrypt', N, r, p: 1, salt: randomBytes(32) };
}

export async function deriveKey(passphrase: string, params: KdfParams): Promise<Uint8Array> {
  if (params.alg !== 'scrypt') throw new CryptoError(CryptoErrorCode.BadFormat, `unknown KDF ${String(params.alg)}`);
  const maxmem = 256 * params.N * params.r + 1024 * 1024;
  return await scrypt(passphrase.normalize('NFC'), params.salt, 32, { N: params.N, r: params.r, p: params.p, maxmem });
}
