/**
 * The one check every restore applies to names from a snapshot: a name is a
 * single path component, so joining it under the target can never leave it.
 */
import { RepoError, RepoErrorCode } from './errors.ts';

export function assertSafeName(name: string, where: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\\') || name.includes('\0')) {
    throw new RepoError(
      RepoErrorCode.UnsafePath,
      `refusing to restore ${JSON.stringify(name)} in ${where}: the name would escape the restore target; the snapshot is damaged or hostile`,
      { details: { name, where } },
    );
  }
}
