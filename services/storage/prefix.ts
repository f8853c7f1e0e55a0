import { checkName, StorageError, StorageErrorCode } from './storage.ts';

/**
 * Throws storage.bad-name unless `prefix` is empty or some valid name starts
 * with it. Drivers that map prefixes onto paths (the filesystem driver walks
 * the directory named by the prefix) must never be steered outside their
 * root by `../` or an absolute prefix, so every driver rejects them alike.
 */
export function checkPrefix(prefix: string): void {
  if (prefix === '') return;
  // A prefix can start a valid name exactly when prefix + one ordinary
  // character is itself valid: that closes a trailing `/`, a partial segment
  // such as `.` (which may start `.x`) stays legal, and `..`, `//`, `\`,
  // leading `/` anywhere before the end are still caught.
  try {
    checkName(`${prefix}x`);
  } catch (err) {
    throw new StorageError(StorageErrorCode.BadName, `invalid list prefix ${JSON.stringify(prefix)}`, {
      details: { prefix },
      cause: err,
    });
  }
}
