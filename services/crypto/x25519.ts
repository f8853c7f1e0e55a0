/**
 * X25519 key agreement over raw 32-byte keys, and the sealing of a key to a
 * recipient's public key (an ECIES construction: ephemeral key pair, ECDH,
 * HKDF-SHA256). The sender needs only the public key; opening needs the
 * private key. This is what lets writers store content they cannot read.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type KeyObject } from 'node:crypto';
import { CryptoError, CryptoErrorCode } from './errors.ts';

export interface X25519KeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

export function generateX25519(): X25519KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const pub = publicKey.export({ format: 'jwk' });
  return { publicKey: Buffer.from(pub.x ?? '', 'base64url'), privateKey: Buffer.from(jwk.d ?? '', 'base64url') };
}

// DER prefixes of the X25519 SPKI and PKCS#8 encodings (RFC 8410); the raw key follows.
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

function checkLength(raw: Uint8Array, what: string): void {
  if (raw.length !== 32) throw new CryptoError(CryptoErrorCode.BadFormat, `X25519 ${what} key must be 32 bytes, got ${raw.length}`);
}

function publicKeyObject(raw: Uint8Array): KeyObject {
  checkLength(raw, 'public');
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

function privateKeyObject(raw: Uint8Array): KeyObject {
  checkLength(raw, 'private');
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

/** Public key belonging to a raw private key (used to validate key files). */
export function publicFromPrivate(privateKey: Uint8Array): Uint8Array {
  const pub = createPublicKey(privateKeyObject(privateKey)).export({ format: 'jwk' });
  return Buffer.from(pub.x ?? '', 'base64url');
}

export function x25519(ours: X25519KeyPair, theirPublic: Uint8Array): Uint8Array {
  return diffieHellman({ privateKey: privateKeyObject(ours.privateKey), publicKey: publicKeyObject(theirPublic) });
}

/** HKDF-SHA256 to 32 bytes. */
export function hkdf32(ikm: Uint8Array, salt: Uint8Array, info: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, salt, Buffer.from(info, 'utf8'), 32));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * A fresh key sealed to `recipient`: returns the ephemeral public key to store
 * and the derived symmetric key to encrypt with. key = HKDF-SHA256(
 * ikm = X25519(eph, recipient), salt = epk ‖ recipient, info).
 */
export function sealKeyTo(recipient: Uint8Array, info: string, eph: X25519KeyPair = generateX25519()): { epk: Uint8Array; key: Uint8Array } {
  const shared = x25519(eph, recipient);
  return { epk: eph.publicKey, key: hkdf32(shared, concat(eph.publicKey, recipient), info) };
}

/** Recomputes the key of sealKeyTo from the recipient's private key and the stored epk. */
export function openKeyFrom(recipient: X25519KeyPair, epk: Uint8Array, info: string): Uint8Array {
  const shared = x25519(recipient, epk);
  return hkdf32(shared, concat(epk, recipient.publicKey), info);
}
