/**
 * Per-pack keys. Every pack has its own 32-byte key, derived from a 32-byte
 * field `epk` stored in the pack header (and repeated in the index):
 * - data packs: epk is an ephemeral X25519 public key and the key is sealed to
 *   the tenant public key, so writing needs only the public key and reading
 *   needs the private key;
 * - tree packs: epk is a random salt and the key is HKDF(metaKey, epk).
 */
import { randomBytes } from 'node:crypto';
import { hkdf32, openKeyFrom, sealKeyTo } from '../crypto/x25519.ts';
import { HKDF_INFO, requirePrivateKey, type TenantKeys } from '../crypto/tenant-keys.ts';
import { PackKind } from './layout.ts';

export interface PackKey {
  readonly epk: Uint8Array;
  readonly key: Uint8Array;
}

export function newPackKey(kind: PackKind, keys: TenantKeys): PackKey {
  if (kind === PackKind.Data) return sealKeyTo(keys.publicKey, HKDF_INFO.dataPack);
  const epk = randomBytes(32);
  return { epk, key: hkdf32(keys.metaKey, epk, HKDF_INFO.treePack) };
}

/**
 * Key of a pack's trailer (its list of blobs). Derived from metaKey for
 * every kind of pack, so a write-only worker can read the trailer of a pack
 * that was stored but never indexed (a crash between the two) and index it,
 * instead of uploading the same data again.
 */
export function trailerKeyFor(epk: Uint8Array, keys: TenantKeys): Uint8Array {
  return hkdf32(keys.metaKey, epk, HKDF_INFO.packTrailer);
}

/** Recovers a pack's key for reading. Data packs need the owner key. */
export function packKeyFor(kind: PackKind, epk: Uint8Array, keys: TenantKeys): Uint8Array {
  if (kind === PackKind.Tree) return hkdf32(keys.metaKey, epk, HKDF_INFO.treePack);
  const privateKey = requirePrivateKey(keys, 'reading file content');
  return openKeyFrom({ publicKey: keys.publicKey, privateKey }, epk, HKDF_INFO.dataPack);
}
