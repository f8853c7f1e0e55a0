/**
 * Site credentials at rest: a password or private key is sealed to the
 * site-secrets key pair before it is stored, and only a holder of the
 * private half (the site actors' hosts) can open it.
 *
 * Format of a sealed secret (design.md §15): epk (32 bytes, an ephemeral
 * X25519 public key) ‖ AES-256-GCM sealed box (nonce ‖ ciphertext ‖ tag)
 * under HKDF-SHA256(X25519(eph, recipient), salt epk ‖ recipient's public
 * key, info "ferry site secret v1") (x25519.ts sealKeyTo), with the
 * record's key `<tenant>.<site uuid>` as associated data, so a secret copied
 * into another site's record does not open.
 *
 * The key pair lives in one file of 32 bytes (the private key), mode 0600:
 * by default `<state dir>/site-secrets.key`, made on first use; a provider
 * gives the same file to every host that runs site actors.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { open, seal } from '../crypto/aead.ts';
import { generateX25519, openKeyFrom, publicFromPrivate, sealKeyTo, type X25519KeyPair } from '../crypto/x25519.ts';
import { FerryError } from '../../protocol/errors.ts';

const INFO = 'ferry site secret v1';
const KEY_BYTES = 32;

export const SiteSecretErrorCode = {
  /** The key file is missing, unreadable or not 32 bytes. */
  BadKeyFile: 'site.bad-secrets-key',
  /** A sealed secret does not open: another key pair, another site, or damage. */
  SecretUnreadable: 'site.secret-unreadable',
} as const;

export class SiteSecrets {
  readonly #pair: X25519KeyPair;

  private constructor(pair: X25519KeyPair) {
    this.#pair = pair;
  }

  /** Reads the key file, or creates it (0600) when `create` and it does not exist. */
  static async load(file: string, opts: { create: boolean }): Promise<SiteSecrets> {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !opts.create) {
        throw new FerryError(SiteSecretErrorCode.BadKeyFile, `the site-secrets key ${file} cannot be read (${(err as NodeJS.ErrnoException).code}); site actors need the same file as the host that added the sites`, { cause: err });
      }
      const pair = generateX25519();
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      await writeFile(file, pair.privateKey, { mode: 0o600, flag: 'wx' });
      await chmod(file, 0o600);
      return new SiteSecrets(pair);
    }
    if (bytes.length !== KEY_BYTES) throw new FerryError(SiteSecretErrorCode.BadKeyFile, `the site-secrets key ${file} is ${bytes.length} bytes, not ${KEY_BYTES}: damaged, or not a Ferry key`);
    const privateKey = new Uint8Array(bytes);
    return new SiteSecrets({ privateKey, publicKey: publicFromPrivate(privateKey) });
  }

  seal(secret: Uint8Array, recordKey: string): Uint8Array {
    const { epk, key } = sealKeyTo(this.#pair.publicKey, INFO);
    const box = seal(key, secret, new TextEncoder().encode(recordKey));
    const out = new Uint8Array(epk.length + box.length);
    out.set(epk, 0);
    out.set(box, epk.length);
    return out;
  }

  open(sealed: Uint8Array, recordKey: string): Uint8Array {
    try {
      const key = openKeyFrom(this.#pair, sealed.subarray(0, KEY_BYTES), INFO);
      return open(key, sealed.subarray(KEY_BYTES), new TextEncoder().encode(recordKey), 'site secret');
    } catch (cause) {
      throw new FerryError(SiteSecretErrorCode.SecretUnreadable, `the credentials of ${recordKey} do not open with this site-secrets key: it is not the key they were sealed with, or the record was damaged; add the site again`, { cause });
    }
  }
}
