/**
 * KeyObjects for raw secret keys, made once per key. Passing raw key bytes to
 * createCipheriv/createHmac makes Node build a key object on every call,
 * about 14 µs: more than sealing or hashing a small file's blob takes. Keys
 * are cached by their Uint8Array (a WeakMap, so a dropped key frees its
 * entry); callers reuse the same array for the same key (pack keys, the ID
 * key), and a key's bytes must not change once used.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';

const cache = new WeakMap<Uint8Array, KeyObject>();

export function secretKey(key: Uint8Array): KeyObject {
  let k = cache.get(key);
  if (k === undefined) {
    k = createSecretKey(key);
    cache.set(key, k);
  }
  return k;
}
