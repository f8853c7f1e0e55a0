/**
 * Directory work of FsStorage: creating directories mode 0700 one level at
 * a time, temp files mode 0600, and the directory fsyncs that make renames
 * and new directories durable.
 */
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from './fs-errors.ts';
import { StorageError, StorageErrorCode } from './storage.ts';
import type * as nodeFs from 'node:fs/promises';

// Repositories hold a user's private data: only the owner may read them,
// whatever umask the process runs with.
const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

/** The parts of `node:fs/promises` the driver uses; tests substitute them to inject failures. */
export type FsImpl = Pick<typeof nodeFs, 'open' | 'mkdir' | 'chmod' | 'rename' | 'unlink' | 'stat' | 'lstat' | 'opendir'>;

export class FsDirs {
  readonly #fs: FsImpl;
  readonly #root: string;
  readonly #location: string;

  constructor(fs: FsImpl, root: string, location: string) {
    this.#fs = fs;
    this.#root = root;
    this.#location = location;
  }

  /** Opens a fresh temp file (`flags` default 'wx'), creating its directory on the first save into it. */
  async openTemp(tmp: string, dir: string, created: string[], flags: string | number = 'wx'): Promise<FileHandle> {
    try {
      return await this.#fs.open(tmp, flags, FILE_MODE);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    await this.mkdirs(dir, created, this.#root);
    return await this.#fs.open(tmp, flags, FILE_MODE);
  }

  /**
   * Creates `dir` and missing ancestors one level at a time, mode 0700,
   * recording each in `created`. One level at a time because a restrictive
   * umask would otherwise leave a fresh parent unwritable before its child
   * is made. Refuses to create `stop` itself (the repository root).
   */
  async mkdirs(dir: string, created: string[], stop: string | undefined): Promise<void> {
    if (dir === stop) {
      throw new StorageError(StorageErrorCode.Io, `repository directory ${this.#location} does not exist (is the disk mounted?)`, {
        details: { root: this.#root },
      });
    }
    try {
      await this.#fs.mkdir(dir, { mode: DIR_MODE });
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EEXIST') return;
      if (code !== 'ENOENT') throw err;
      await this.mkdirs(path.dirname(dir), created, stop);
      try {
        await this.#fs.mkdir(dir, { mode: DIR_MODE });
      } catch (err2) {
        // Another save created it meanwhile.
        if (errnoCode(err2) === 'EEXIST') return;
        throw err2;
      }
    }
    // The umask can only have removed bits, so the directory was never more open than this.
    await this.#fs.chmod(dir, DIR_MODE);
    created.push(dir);
  }

  /** Makes the entries of newly created directories durable, deepest first. */
  async syncParents(created: readonly string[]): Promise<void> {
    for (let i = created.length - 1; i >= 0; i--) {
      const dir = created[i];
      if (dir !== undefined) await this.syncDir(path.dirname(dir));
    }
  }

  async syncDir(dir: string): Promise<void> {
    const fh = await this.#fs.open(dir, 'r');
    try {
      await fh.sync();
    } catch (err) {
      // Some filesystems (certain network and FUSE mounts) cannot fsync a
      // directory; they give no stronger guarantee to wait for.
      if (errnoCode(err) !== 'EINVAL') throw err;
    } finally {
      await fh.close();
    }
  }
}
