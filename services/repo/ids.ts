/** 32-byte IDs (blob IDs, pack IDs, object IDs) and their hex form. */
import { createHash } from 'node:crypto';
import { RepoError, RepoErrorCode } from './errors.ts';

export type Id = Uint8Array;

export const sameId = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export const toHex = (id: Uint8Array): string => Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');

export function fromHex(hex: string, what = 'id'): Id {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new RepoError(RepoErrorCode.Corrupt, `${what} ${JSON.stringify(hex)} is not a 64-digit hex ID`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Storage IDs of packs and metadata objects: SHA-256 of the stored bytes. */
export const sha256 = (data: Uint8Array): Id => new Uint8Array(createHash('sha256').update(data).digest());

const { latin1Slice } = Buffer.prototype as unknown as { latin1Slice: (this: Uint8Array, start: number, end: number) => string };

/**
 * Map key for an ID: a 32-char latin1 string is compact and hashes fast.
 * Buffer's latin1Slice works on any Uint8Array; calling it directly skips
 * wrapping every ID in a Buffer (this runs several times per file).
 */
export const idKey = (id: Uint8Array): string => latin1Slice.call(id, 0, id.length);
export const idFromKey = (key: string): Id => new Uint8Array(Buffer.from(key, 'latin1'));
