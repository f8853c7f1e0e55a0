/**
 * Key files (`keys/<id>` in the repository): a tenant's secrets sealed by a
 * passphrase. The file is UTF-8 JSON so that it can be read before anything
 * else is unlocked:
 *
 *   { "ferryKey": 1, "kind": "owner"|"writer", "created": ISO-8601,
 *     "host": string, "kdf": { "alg": "scrypt", "N", "r", "p", "salt": b64 },
 *     "sealed": b64( AES-256-GCM(scrypt(passphrase), payload, aad = "ferry/v1/key") ) }
 *
 * payload is UTF-8 JSON { "repo": hex, "kind", "pub": b64, "priv": b64 (owner
 * only), "meta": b64, "id": b64 }. A wrong passphrase fails authentication and
 * is reported as `crypto.wrong-passphrase`.
 */
import { open, seal } from './aead.ts';
import { deriveKey, newKdfParams, type KdfParams } from './kdf.ts';
import { CryptoError, CryptoErrorCode } from './errors.ts';
import { KeyKind, type TenantKeys } from './tenant-keys.ts';
import { publicFromPrivate } from './x25519.ts';

const AAD = Buffer.from('ferry/v1/key', 'utf8');
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const unb64 = (s: unknown, what: string): Uint8Array => {
  if (typeof s !== 'string') throw new CryptoError(CryptoErrorCode.BadFormat, `key file field ${what} is missing`);
  return new Uint8Array(Buffer.from(s, 'base64'));
};

export interface KeyFileInfo {
  readonly kind: KeyKind;
  readonly created: string;
  readonly host: string;
}

export async function sealKeyFile(keys: TenantKeys, passphrase: string, opts: { host: string; kdfMemoryMiB?: number; now?: Date }): Promise<Uint8Array> {
  const kdf = newKdfParams(opts.kdfMemoryMiB);
  const payload = {
    repo: keys.repoId,
    kind: keys.kind,
    pub: b64(keys.publicKey),
    ...(keys.privateKey ? { priv: b64(keys.privateKey) } : {}),
    meta: b64(keys.metaKey),
    id: b64(keys.idKey),
  };
  const sealed = seal(await deriveKey(passphrase, kdf), Buffer.from(JSON.stringify(payload), 'utf8'), AAD);
  const file = {
    ferryKey: 1,
    kind: keys.kind,
    created: (opts.now ?? new Date()).toISOString(),
    host: opts.host,
    kdf: { alg: kdf.alg, N: kdf.N, r: kdf.r, p: kdf.p, salt: b64(kdf.salt) },
    sealed: b64(sealed),
  };
  return Buffer.from(JSON.stringify(file, null, 1) + '\n', 'utf8');
}

function parseFile(bytes: Uint8Array): { info: KeyFileInfo; kdf: KdfParams; sealed: Uint8Array } {
  let file: Record<string, unknown>;
  try {
    file = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw new CryptoError(CryptoErrorCode.BadFormat, 'key file is not valid JSON', { cause });
  }
  if (file.ferryKey !== 1) throw new CryptoError(CryptoErrorCode.BadFormat, `unsupported key file version ${String(file.ferryKey)}`);
  const k = file.kdf as Record<string, unknown> | undefined;
  if (!k || k.alg !== 'scrypt' || typeof k.N !== 'number' || typeof k.r !== 'number' || typeof k.p !== 'number') {
    throw new CryptoError(CryptoErrorCode.BadFormat, 'key file has no usable kdf parameters');
  }
  const kind = file.kind === KeyKind.Writer ? KeyKind.Writer : KeyKind.Owner;
  return {
    info: { kind, created: String(file.created ?? ''), host: String(file.host ?? '') },
    kdf: { alg: 'scrypt', N: k.N, r: k.r, p: k.p, salt: unb64(k.salt, 'kdf.salt') },
    sealed: unb64(file.sealed, 'sealed'),
  };
}

export function keyFileInfo(bytes: Uint8Array): KeyFileInfo {
  return parseFile(bytes).info;
}

/** Opens a key file. Throws `crypto.wrong-passphrase` when the passphrase does not fit. */
/**
 * Opens a key file with its passphrase. `onDeriving` is called once the
 * key derivation runs on the thread pool, for callers that have other work
 * to overlap with it.
 */
export async function openKeyFile(bytes: Uint8Array, passphrase: string, onDeriving?: () => void): Promise<TenantKeys> {
  const { kdf, sealed } = parseFile(bytes);
  const deriving = deriveKey(passphrase, kdf);
  onDeriving?.();
  // Only a failure to authenticate means a wrong passphrase; the derivation's own errors (parameters out of range) pass as they are.
  const key = await deriving;
  let plain: Uint8Array;
  try {
    plain = open(key, sealed, AAD, 'key file');
  } catch (cause) {
    throw new CryptoError(CryptoErrorCode.WrongPassphrase, 'wrong passphrase for this repository key', { cause });
  }
  const p = JSON.parse(Buffer.from(plain).toString('utf8')) as Record<string, unknown>;
  const publicKey = unb64(p.pub, 'pub');
  const privateKey = p.priv === undefined ? null : unb64(p.priv, 'priv');
  if (privateKey && !Buffer.from(publicFromPrivate(privateKey)).equals(publicKey)) {
    throw new CryptoError(CryptoErrorCode.BadFormat, 'key file is inconsistent: its private key does not match its public key');
  }
  return {
    repoId: String(p.repo),
    kind: privateKey ? KeyKind.Owner : KeyKind.Writer,
    publicKey,
    privateKey,
    metaKey: unb64(p.meta, 'meta'),
    idKey: unb64(p.id, 'id'),
  };
}
