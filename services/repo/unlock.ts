/**
 * The first step of opening a repository: its config object's bytes, and
 * the tenant keys from the first key file the passphrase opens.
 *
 * Kept apart from repository.ts, with few imports, so that a command can
 * start the key derivation (scrypt, a quarter second on the thread pool)
 * before it loads the rest of the repository code, which then loads while
 * scrypt runs.
 */
import type { Storage } from '../storage/storage.ts';
import { isNotFound } from '../storage/storage.ts';
import { hasCode } from '../../protocol/errors.ts';
import { CryptoErrorCode } from '../crypto/errors.ts';
import { openKeyFile } from '../crypto/key-file.ts';
import type { TenantKeys } from '../crypto/tenant-keys.ts';
import { RepoError, RepoErrorCode } from './errors.ts';
import { Prefix } from './layout.ts';

export interface Unlocked {
  /** The config object as stored (sealed with the keys' object key). */
  readonly configBytes: Uint8Array;
  readonly keys: TenantKeys;
}

/**
 * Unlocks with a passphrase; `onDeriving` as for openKeyFile (called once per
 * key tried). A key file that cannot be read (damaged, or with scrypt
 * parameters out of range) is skipped, so it cannot lock out the holders of
 * the others; the errors name the skipped files.
 */
export async function unlockRepository(storage: Storage, passphrase: string, opts: { onDeriving?: () => void } = {}): Promise<Unlocked> {
  const configBytes = await storage.load(Prefix.config).catch((e: unknown) => {
    if (isNotFound(e)) throw new RepoError(RepoErrorCode.NotARepository, `no Ferry repository at ${storage.location} (no config object); create one with \`ferry init\``, { cause: e });
    throw e;
  });
  let tried = 0;
  const damaged: string[] = [];
  for await (const info of storage.list(Prefix.keys)) {
    tried++;
    try {
      return { configBytes, keys: await openKeyFile(await storage.load(info.name), passphrase, opts.onDeriving) };
    } catch (e) {
      if (hasCode(e, CryptoErrorCode.BadFormat)) damaged.push(`${info.name}: ${(e as Error).message}`);
      else if (!hasCode(e, CryptoErrorCode.WrongPassphrase)) throw e;
    }
  }
  const skipped = damaged.length > 0 ? `; skipped ${damaged.length} unreadable key file(s) (${damaged.join('; ')})` : '';
  if (tried === damaged.length) {
    throw new RepoError(RepoErrorCode.NoKey, `repository at ${storage.location} has no readable key; it is damaged${skipped}`, { details: { damaged: damaged.length } });
  }
  throw new RepoError(
    RepoErrorCode.WrongPassphrase,
    `wrong passphrase: none of the ${tried - damaged.length} readable key(s) of ${storage.location} opens with it; check FERRY_PASSWORD or FERRY_PASSWORD_FILE${skipped}`,
    { details: { damaged: damaged.length } },
  );
}
