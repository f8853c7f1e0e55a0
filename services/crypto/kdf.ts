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
 * 2^15 * 8 * 128 = 32 MiB, in two lanes (p = 2) that scrypt runs one after
 * the other in the same memory: the work of one 64 MiB lane (about 140 ms
 * here, against 160 ms for 2^16 in one lane) for half the memory. Every
 * command that opens the repository allocates this once, beside a runtime
 * that is still loading, so it sets the floor of every command's peak
 * memory: 32 MiB less on each. An attacker's memory-time cost per guess is
 * half that of 2^16 in one lane, one bit of passphrase; restic makes the
 * same choice (it caps scrypt at 60 MiB, so N = 2^15, and raises p to fill
 * its time budget).
 */
export const DEFAULT_KDF_MEMORY_MIB = 32;
export const MIN_KDF_MEMORY_MIB = 1;
export const MAX_KDF_MEMORY_MIB = 4096;
export const KDF_LANES = 2;

export function newKdfParams(memoryMiB: number = DEFAULT_KDF_MEMORY_MIB): KdfParams {
  if (!Number.isInteger(memoryMiB) || memoryMiB < MIN_KDF_MEMORY_MIB || memoryMiB > MAX_KDF_MEMORY_MIB) {
    throw new CryptoError(CryptoErrorCode.BadFormat, `KDF memory must be a whole number of MiB between ${MIN_KDF_MEMORY_MIB} and ${MAX_KDF_MEMORY_MIB}, got ${memoryMiB}`);
  }
  const r = 8;
  // Largest power of two N with 128*N*r <= memory.
  const N = 2 ** Math.floor(Math.log2((memoryMiB * 1024 * 1024) / (128 * r)));
  return { alg: 'scrypt', N, r, p: KDF_LANES, salt: randomBytes(32) };
}

/** Most lanes a key file may ask for: 8 times the default's work at its memory. */
export const MAX_KDF_LANES = 16;

/**
 * Throws `crypto.bad-format` unless N, r and p are what Ferry could have
 * written: N a power of two, 128 * N * r at most the MAX_KDF_MEMORY_MIB
 * newKdfParams allows, r and p small whole numbers. Parameters come from key
 * files in the repository, which whoever can write there controls: without a
 * bound, deriving from one could try to allocate or compute without limit.
 * deriveKey calls it, so reading a key file's other fields (`ferry key
 * list`) still works on one that asks too much.
 */
export function checkKdfParams(params: Pick<KdfParams, 'N' | 'r' | 'p'>): void {
  const { N, r, p } = params;
  const whole = (v: number, max: number): boolean => Number.isSafeInteger(v) && v >= 1 && v <= max;
  const ok = whole(N, 2 ** 32) && N >= 2 && Number.isInteger(Math.log2(N)) && whole(r, 64) && whole(p, MAX_KDF_LANES) && 128 * N * r <= MAX_KDF_MEMORY_MIB * 1024 * 1024;
  if (!ok) {
    throw new CryptoError(CryptoErrorCode.BadFormat, `key file asks for scrypt N=${N}, r=${r}, p=${p}: out of range (N a power of two, at most ${MAX_KDF_MEMORY_MIB} MiB, at most ${MAX_KDF_LANES} lanes); the key file is damaged or not Ferry's`);
  }
}

export async function deriveKey(passphrase: string, params: KdfParams): Promise<Uint8Array> {
  if (params.alg !== 'scrypt') throw new CryptoError(CryptoErrorCode.BadFormat, `unknown KDF ${String(params.alg)}`);
  checkKdfParams(params);
  const maxmem = 256 * params.N * params.r + 1024 * 1024;
  return await scrypt(passphrase.normalize('NFC'), params.salt, 32, { N: params.N, r: params.r, p: params.p, maxmem });
}
