/**
 * The secrets of one tenant's repository, and the keys derived from them.
 *
 * - publicKey/privateKey (X25519): file content is sealed to publicKey; only
 *   privateKey opens it. Writer keys carry no privateKey.
 * - metaKey: seals metadata (config, index, snapshots, tree packs). Writers
 *   hold it because they must read the index to deduplicate and the parent
 *   snapshot's trees to skip unchanged files.
 * - idKey: keys chunk IDs (HMAC-SHA256), so equal plaintext gets equal IDs
 *   within a tenant and unrelated IDs across tenants.
 * See docs/design.md, "Keys" and "Threat model".
 */
import { createHmac } from 'node:crypto';
import { secretKey } from './key-object.ts';
import { hkdf32 } from './x25519.ts';
import { CryptoError, CryptoErrorCode } from './errors.ts';

export const KeyKind = { Owner: 'owner', Writer: 'writer' } as const;
export type KeyKind = (typeof KeyKind)[keyof typeof KeyKind];

export interface TenantKeys {
  readonly repoId: string;
  readonly kind: KeyKind;
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array | null;
  readonly metaKey: Uint8Array;
  readonly idKey: Uint8Array;
}

export const HKDF_INFO = {
  object: 'ferry/v1/object',
  dataPack: 'ferry/v1/data-pack',
  treePack: 'ferry/v1/tree-pack',
  packTrailer: 'ferry/v1/pack-trailer',
} as const;

const EMPTY = new Uint8Array(0);

/** Key that seals whole metadata objects (config, index files, snapshots). */
export function objectKey(keys: TenantKeys): Uint8Array {
  return hkdf32(keys.metaKey, EMPTY, HKDF_INFO.object);
}

/** The content ID of a blob: HMAC-SHA256 keyed with the tenant's idKey. */
export function blobId(idKey: Uint8Array, data: Uint8Array): Uint8Array {
  return createHmac('sha256', secretKey(idKey)).update(data).digest();
}

export function requirePrivateKey(keys: TenantKeys, action: string): Uint8Array {
  if (keys.privateKey === null) {
    throw new CryptoError(CryptoErrorCode.NoPrivateKey, `${action} needs the repository's owner key; this is a write-only key, which can back up but not read content`);
  }
  return keys.privateKey;
}

/** A writer's copy of an owner's keys: everything but the private key. */
export function writerKeys(keys: TenantKeys): TenantKeys {
  return { ...keys, kind: KeyKind.Writer, privateKey: null };
}

/** Fresh owner keys for a new repository. */
export function newTenantKeys(repoId: string, generate: () => { publicKey: Uint8Array; privateKey: Uint8Array }, random: (n: number) => Uint8Array): TenantKeys {
  const pair = generate();
  return { repoId, kind: KeyKind.Owner, publicKey: pair.publicKey, privateKey: pair.privateKey, metaKey: random(32), idKey: random(32) };
}
