import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs/promises';
import type { Dir } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { closedError } from './closed.ts';
import { mergeAsync } from './merge-async.ts';
import { errnoCode, mapFsError } from './fs-errors.ts';
import { checkPrefix } from './prefix.ts';
import { checkRange } from './range.ts';
import { checkName, notFound, StorageError, StorageErrorCode, type ByteRange, type ObjectInfo, type Storage } from './storage.ts';

/** The parts of `node:fs/promises` the driver uses; tests substitute them to inject failures. */
export type FsImpl = Pick<typeof nodeFs, 'open' | 'mkdir' | 'chmod' | 'rename' | 'unlink' | 'stat' | 'lstat' | 'opendir'>;

export interface FsStorageOptions {
  /** Filesystem functions to use instead of `node:fs/promises` (for tests). */
  readonly fs?: FsImpl;
}

// Repositories hold a user's private data: only the owner may read them,
// whatever umask the process runs with.
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
/** Objects stat'ed at once, and directory entries read per call, while listing. */
const LIST_BATCH = 256;
/** Directories listed side by side. */
const LIST_WIDTH = 16;
/** Partially written objects; list() never shows them. */
export const TMP_PREFIX = '.tmp-';

/**
 * Storage in a local directory: object `a/b/c` is the file `<root>/a/b/c`.
 *
 * save() writes a temp file next to the target, fsyncs it, renames it over
 * the target and fsyncs the directory, so a crash or a concurrent reader
 * sees the old object or the new one, never a mix, and a resolved save
 * survives power loss. Directories are created 0700 and files 0600.
 *
 * The root must exist (use FsStorage.create to make it). save() never
 * recreates a missing root: if a mounted backup disk disappears, writing
 * into the empty mount point would silently fill the wrong disk.
 */
export class FsStorage implements Storage {
  readonly root: string;
  readonly location: string;
  readonly #fs: FsImpl;
  #closed = false;

  constructor(root: string, opts: FsStorageOptions = {}) {
    this.root = path.resolve(root);
    this.location = `file://${this.root}`;
    this.#fs = opts.fs ?? nodeFs;
  }

  /** Opens a repository at `root`, creating the directory (and missing parents) mode 0700 if needed. */
  static async create(root: string, opts: FsStorageOptions = {}): Promise<FsStorage> {
    const storage = new FsStorage(root, opts);
    try {
      const created: string[] = [];
      await storage.#mkdirs(storage.root, created, undefined);
      await storage.#syncParents(created);
      if (!(await storage.#fs.stat(storage.root)).isDirectory()) {
        throw new StorageError(StorageErrorCode.Io, `${storage.location} exists but is not a directory`, { details: { root: storage.root } });
      }
    } catch (err) {
      throw mapFsError(err, '.', storage.location);
    }
    return storage;
  }

  async save(name: string, data: Uint8Array): Promise<void> {
    this.#check('save');
    this.#checkName(name);
    const target = this.#path(name);
    const dir = path.dirname(target);
    // Random, not counter-based: several processes may save into one repository.
    const tmp = path.join(dir, `${TMP_PREFIX}${randomBytes(8).toString('hex')}`);
    const created: string[] = [];
    try {
      const fh = await this.#openTemp(tmp, dir, created);
      try {
        // open()'s mode is filtered by the umask; set it outright.
        await fh.chmod(FILE_MODE);
        await fh.writeFile(data);
        await fh.sync();
      } catch (err) {
        await fh.close().catch(() => {});
        throw err;
      }
      await fh.close();
      await this.#fs.rename(tmp, target);
    } catch (err) {
      // Leave nothing behind: a failed save (disk full included) changes nothing visible.
      await this.#fs.unlink(tmp).catch(() => {});
      if (errnoCode(err) === 'ENOTDIR') {
        throw new StorageError(StorageErrorCode.Io, `cannot save ${name} in ${this.location}: a parent path is a file, not a directory`, {
          details: { name },
          cause: err,
        });
      }
      throw mapFsError(err, name, this.location);
    }
    try {
      // The rename is only durable once the directory entry is on disk, and
      // so are any directories created for it.
      await this.#syncDir(dir);
      await this.#syncParents(created);
    } catch (err) {
      throw mapFsError(err, name, this.location);
    }
  }

  async load(name: string, range?: ByteRange): Promise<Uint8Array> {
    this.#check('load');
    this.#checkName(name);
    let fh: FileHandle;
    try {
      fh = await this.#fs.open(this.#path(name), 'r');
    } catch (err) {
      throw mapFsError(err, name, this.location);
    }
    // The handle pins the inode, so a concurrent save (a rename over the
    // name) cannot change the bytes read here: we read the old object whole.
    try {
      const info = await fh.stat();
      if (!info.isFile()) throw notFound(name, this.location);
      const wanted = range ?? { offset: 0, length: info.size };
      checkRange(name, wanted, info.size);
      return await this.#readExactly(fh, name, wanted);
    } catch (err) {
      throw mapFsError(err, name, this.location);
    } finally {
      // Closing a read-only handle cannot lose data; the read result stands.
      await fh.close().catch(() => {});
    }
  }

  async stat(name: string): Promise<ObjectInfo> {
    this.#check('stat');
    this.#checkName(name);
    try {
      const info = await this.#fs.stat(this.#path(name));
      if (!info.isFile()) throw notFound(name, this.location);
      return { name, size: info.size };
    } catch (err) {
      throw mapFsError(err, name, this.location);
    }
  }

  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    this.#check('list');
    checkPrefix(prefix);
    // Start at the deepest directory the prefix names in full, so listing
    // `data/ab` reads only `data/` rather than the whole repository.
    for await (const batch of this.#walk(prefix.slice(0, prefix.lastIndexOf('/') + 1), prefix)) yield* batch;
  }

  async remove(name: string): Promise<void> {
    this.#check('remove');
    this.#checkName(name);
    const file = this.#path(name);
    try {
      await this.#fs.unlink(file);
    } catch (err) {
      // Linux says EISDIR and macOS EPERM for a directory; either way there
      // is no object by that name.
      const code = errnoCode(err);
      if (code === 'EISDIR') throw notFound(name, this.location, err);
      if (code === 'EPERM' && (await this.#isDirectory(file))) throw notFound(name, this.location, err);
      throw mapFsError(err, name, this.location);
    }
    // No directory fsync here: an object that reappears after a crash is
    // garbage the next prune removes again, and prune deletes many objects.
  }

  async close(): Promise<void> {
    // Nothing is held open between calls; this only makes later calls fail clearly.
    this.#closed = true;
  }

  #check(op: string): void {
    if (this.#closed) throw closedError(this.location, op);
  }

  /** Also reserves temp-file names: list() hides them, so such an object could never be listed. */
  #checkName(name: string): void {
    checkName(name);
    if (path.posix.basename(name).startsWith(TMP_PREFIX)) {
      throw new StorageError(StorageErrorCode.BadName, `object names starting with ${TMP_PREFIX} are reserved in ${this.location}`, {
        details: { name },
      });
    }
  }

  #path(name: string): string {
    // checkName has ruled out `..`, absolute names and backslashes.
    return path.join(this.root, name);
  }

  /** Streams objects under directory `rel` (`''` or ending in `/`) whose names start with `prefix`. */
  /**
   * Lists one directory in batches of at most LIST_BATCH objects, then its
   * subdirectories, LIST_WIDTH at a time. Every await here is a turn of the
   * event loop, which a process that walks a source tree makes long (an
   * uploader adopting orphan packs while its scanner walks waited most of a
   * second), so files are stat'ed a batch at once and directories read side
   * by side: the listing takes few sequential turns.
   */
  async *#walk(rel: string, prefix: string): AsyncGenerator<ObjectInfo[]> {
    let dir: Dir;
    try {
      dir = await this.#fs.opendir(path.join(this.root, rel), { bufferSize: LIST_BATCH });
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw mapFsError(err, rel === '' ? '.' : rel, this.location);
    }
    const subdirs: string[] = [];
    try {
      let files: string[] = [];
      for (;;) {
        let entry;
        try {
          entry = await dir.read();
        } catch (err) {
          throw mapFsError(err, rel === '' ? '.' : rel, this.location);
        }
        if (entry === null) break;
        const name = rel + entry.name;
        if (entry.isDirectory()) {
          if (`${name}/`.startsWith(prefix)) subdirs.push(`${name}/`);
        } else if (entry.isFile() && !entry.name.startsWith(TMP_PREFIX) && name.startsWith(prefix)) {
          files.push(name);
          if (files.length >= LIST_BATCH) {
            yield await this.#sized(files);
            files = [];
          }
        }
      }
      if (files.length > 0) yield await this.#sized(files);
    } finally {
      dir.close().catch(() => {});
    }
    yield* mergeAsync(subdirs.map((d) => this.#walk(d, prefix)), LIST_WIDTH);
  }

  async #sized(names: readonly string[]): Promise<ObjectInfo[]> {
    const sizes = await Promise.all(names.map((n) => this.#sizeIfPresent(n)));
    return names.flatMap((name, i) => (sizes[i] === undefined ? [] : [{ name, size: sizes[i] }]));
  }

  /** Size of object `name`, or undefined if it was removed since the directory was read. */
  async #sizeIfPresent(name: string): Promise<number | undefined> {
    try {
      return (await this.#fs.lstat(this.#path(name))).size;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw mapFsError(err, name, this.location);
    }
  }

  async #readExactly(fh: FileHandle, name: string, range: ByteRange): Promise<Uint8Array> {
    const out = new Uint8Array(range.length);
    let done = 0;
    while (done < range.length) {
      const { bytesRead } = await fh.read(out, done, range.length - done, range.offset + done);
      if (bytesRead === 0) {
        // We never truncate in place, so someone else changed the file.
        throw new StorageError(StorageErrorCode.Io, `object ${name} in ${this.location} ended early: it was truncated outside Ferry`, {
          details: { name, expected: range.offset + range.length, got: range.offset + done },
        });
      }
      done += bytesRead;
    }
    return out;
  }

  /** Opens a fresh temp file, creating its directory on the first save into it. */
  async #openTemp(tmp: string, dir: string, created: string[]): Promise<FileHandle> {
    try {
      return await this.#fs.open(tmp, 'wx', FILE_MODE);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    await this.#mkdirs(dir, created, this.root);
    return await this.#fs.open(tmp, 'wx', FILE_MODE);
  }

  /**
   * Creates `dir` and missing ancestors one level at a time, mode 0700,
   * recording each in `created`. One level at a time because a restrictive
   * umask would otherwise leave a fresh parent unwritable before its child
   * is made. Refuses to create `stop` itself (the repository root).
   */
  async #mkdirs(dir: string, created: string[], stop: string | undefined): Promise<void> {
    if (dir === stop) {
      throw new StorageError(StorageErrorCode.Io, `repository directory ${this.location} does not exist (is the disk mounted?)`, {
        details: { root: this.root },
      });
    }
    try {
      await this.#fs.mkdir(dir, { mode: DIR_MODE });
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EEXIST') return;
      if (code !== 'ENOENT') throw err;
      await this.#mkdirs(path.dirname(dir), created, stop);
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
  async #syncParents(created: readonly string[]): Promise<void> {
    for (let i = created.length - 1; i >= 0; i--) {
      const dir = created[i];
      if (dir !== undefined) await this.#syncDir(path.dirname(dir));
    }
  }

  async #syncDir(dir: string): Promise<void> {
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

  async #isDirectory(file: string): Promise<boolean> {
    try {
      return (await this.#fs.lstat(file)).isDirectory();
    } catch {
      return false;
    }
  }
}
