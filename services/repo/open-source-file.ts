/**
 * Opens a file being backed up for reading without touching its atime
 * (O_NOATIME, as borg does). Otherwise the first backup's reads would update
 * atimes under relatime, the next backup would record the new atimes, and
 * every tree holding a read file would be stored again for nothing. Linux
 * allows O_NOATIME only to the file's owner (or root); for other files it
 * falls back to a plain open.
 */
import { constants, openSync } from 'node:fs';

const NOATIME = constants.O_NOATIME ?? 0;

export function openSourceFile(path: string): number {
  if (NOATIME !== 0) {
    try {
      return openSync(path, constants.O_RDONLY | NOATIME);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    }
  }
  return openSync(path, constants.O_RDONLY);
}
