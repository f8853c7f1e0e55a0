/**
 * AES-256-GCM with a random 96-bit nonce, the one symmetric primitive of the
 * repository format. Sealed layout: nonce (12) ‖ ciphertext ‖ tag (16).
 * Random nonces are safe here because every key encrypts far fewer than 2^32
 * messages: pack keys are per pack, and the object key seals a handful of
 * small metadata objects per backup.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CryptoError, CryptoErrorCode } from './errors.ts';
import { secretKey } from './key-object.ts';
import { releaseBuffer } from '../buffers/release-buffer.ts';

export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const AEAD_OVERHEAD = NONCE_BYTES + TAG_BYTES;

/**
 * Seals the plaintext, or the concatenation of its parts (which saves the
 * caller a copy when it frames data behind a header).
 */
// Nonces come from the CSPRNG 512 at a time: one randomBytes call per small
// blob cost more than sealing it.
const NONCE_POOL_BYTES = NONCE_BYTES * 512;
let noncePool = new Uint8Array(0);
let nonceAt = 0;

function freshNonce(): Uint8Array {
  if (nonceAt + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_POOL_BYTES);
    nonceAt = 0;
  }
  const n = noncePool.subarray(nonceAt, nonceAt + NONCE_BYTES);
  nonceAt += NONCE_BYTES;
  return n;
}

export function seal(key: Uint8Array, plaintext: Uint8Array | readonly Uint8Array[], aad: Uint8Array, nonce: Uint8Array = freshNonce()): Uint8Array {
  const parts = plaintext instanceof Uint8Array ? [plaintext] : plaintext;
  const length = parts.reduce((n, p) => n + p.length, 0);
  const cipher = createCipheriv('aes-256-gcm', secretKey(key), nonce);
  cipher.setAAD(aad);
  const out = new Uint8Array(NONCE_BYTES + length + TAG_BYTES);
  out.set(nonce, 0);
  let at = NONCE_BYTES;
  for (const p of parts) {
    const body = cipher.update(p);
    out.set(body, at);
    at += body.length;
    releaseBuffer(body); // a copy as large as the part: dead once copied into `out`
  }
  const fin = cipher.final();
  out.set(fin, at);
  out.set(cipher.getAuthTag(), NONCE_BYTES + length);
  return out;
}

/** Throws CryptoError `crypto.auth` when the key is wrong or the bytes were altered. */
export function open(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array, what = 'object'): Uint8Array {
  if (sealed.length < AEAD_OVERHEAD) {
    throw new CryptoError(CryptoErrorCode.Auth, `${what} is too short to be sealed data (${sealed.length} bytes)`);
  }
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const body = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', secretKey(key), nonce);
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const a = decipher.update(body);
    const b = decipher.final();
    if (b.length === 0) return new Uint8Array(a.buffer, a.byteOffset, a.length);
    return Buffer.concat([a, b]);
  } catch (cause) {
    throw new CryptoError(CryptoErrorCode.Auth, `${what} failed authentication: it was altered, corrupted, or sealed with another key`, { cause });
  }
}
