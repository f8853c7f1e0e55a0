import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs/promises';
import { constants, type Dir } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { closedError } from './closed.ts';
import { mergeAsync } from './merge-async.ts';
import { errnoCode, mapFsError } from './fs-errors.ts';
import { checkPrefix } from './prefix.ts';
import { checkRange } from './range.ts';
import { checkName, notFound, StorageError, StorageErrorCode, type ByteRange, type ObjectInfo, type ObjectWriter, type Storage } from './storage.ts';
import { FsObjectWriter, type DirectMode } from './fs-writer.ts';
import { StagePool, type AlignedAlloc } from './fs-direct.ts';
import { FILE_MODE, FsDirs, type FsImpl } from './fs-dirs.ts';

export type { FsImpl } from './fs-dirs.ts';

export interface FsStorageOptions {
  /** Filesystem functions to use instead of `node:fs/promises` (for tests). */
  readonly fs?: FsImpl;
  /**
   * Aligned memory for writers that bypass the page cache (fs-direct.ts).
   * Without it, or where the filesystem refuses O_DIRECT, writers go
   * through the page cache. save() always does: its objects are small.
   */
  readonly alignedAlloc?: AlignedAlloc;
}

const O_DIRECT_WRITE = constants.O_DIRECT === undefined ? undefined : constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DIRECT;

/** Objects stat'ed at once, and directory entries read per call, while listing. */
const LIST_BATCH = 256;
/** Directories listed side by side. */
const LIST_WIDTH = 16;
/** Age after which a writer's temp file in the root is taken for a crashed writer's and deleted. */
const STALE_TEMP_MS = 24 * 60 * 60 * 1000;
/** Partially written objects; list() never shows them. */
export const TMP_PREFIX = '.tmp-';

/**
 * Storage in a local directory: object `a/b/c` is the file `<root>/a/b/c`.
 *
 * save() writes a temp file next to the target, fsyncs it, renames it over
 * the target and fsyncs the directory, so a crash or a concurrent reader
 * sees the old object or the new one, never a mix, and a resolved save
 * survives power loss. writer() does the same with a temp file in the root,
 * written piece by piece (fs-writer.ts). Directories are created 0700 and
 * files 0600.
 *
 * The root must exist (use FsStorage.create to make it). save() never
 * recreates a missing root: if a mounted backup disk disappears, writing
 * into the empty mount point would silently fill the wrong disk.
 */
export class FsStorage implements Storage {
  readonly root: string;
  readonly location: string;
  readonly #fs: FsImpl;
  readonly #dirs: FsDirs;
  #closed = false;
  #swept = false;
  /** Stages for direct writes; undefined once they are known not to work here. */
  #stages: StagePool | undefined | 'untried';
  readonly #alignedAlloc: AlignedAlloc | undefined;

  constructor(root: string, opts: FsStorageOptions = {}) {
    this.root = path.resolve(root);
    this.location = `file://${this.root}`;
    this.#fs = opts.fs ?? nodeFs;
    this.#dirs = new FsDirs(this.#fs, this.root, this.location);
    this.#alignedAlloc = opts.alignedAlloc;
    this.#stages = opts.alignedAlloc === undefined || O_DIRECT_WRITE === undefined ? undefined : 'untried';
  }

  /** Opens a repository at `root`, creating the directory (and missing parents) mode 0700 if needed. */
  static async create(root: string, opts: FsStorageOptions = {}): Promise<FsStorage> {
    const storage = new FsStorage(root, opts);
    try {
      const created: string[] = [];
      await storage.#dirs.mkdirs(storage.root, created, undefined);
      await storage.#dirs.syncParents(created);
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
    // The temp file in the root, like a writer's: the sweep below then finds
    // what a save killed midway left, wherever the object was going.
    this.#sweepOnce();
    const w = await this.#writer(this.root, name);
    try {
      await w.write(data);
      await w.commit(name);
    } catch (err) {
      // Leave nothing behind: a failed save (disk full included) changes nothing visible.
      await w.abort();
      throw err;
    }
  }

  async writer(): Promise<ObjectWriter> {
    this.#check('write');
    this.#sweepOnce();
    return this.#writer(this.root, undefined, true);
  }

  #sweepOnce(): void {
    if (this.#swept) return;
    this.#swept = true;
    void this.#sweepStaleTemps();
  }

  /**
   * Deletes temp files in the root that are a day old, on the first save or
   * writer: a process killed while writing a pack or saving an object
   * leaves one, and no live writer takes that long, so nobody has to clean
   * up after a crash. Best effort.
   */
  async #sweepStaleTemps(): Promise<void> {
    try {
      const dir = await this.#fs.opendir(this.root);
      for await (const entry of dir) {
        if (!entry.isFile() || !entry.name.startsWith(TMP_PREFIX)) continue;
        const file = path.join(this.root, entry.name);
        const info = await this.#fs.lstat(file).catch(() => undefined);
        if (info !== undefined && Date.now() - info.mtimeMs > STALE_TEMP_MS) await this.#fs.unlink(file).catch(() => {});
      }
    } catch {
      // A repository we cannot list here fails its real operations with a proper error.
    }
  }

  /**
   * A writer whose temp file is in `dir`, which is created if missing
   * (unless it is the root); `label` names it in errors. With `direct`, it
   * bypasses the page cache if this storage can.
   */
  async #writer(dir: string, label = 'a new object', direct = false): Promise<FsObjectWriter> {
    // Random, not counter-based: several processes may write into one repository.
    const tmp = path.join(dir, `${TMP_PREFIX}${randomBytes(8).toString('hex')}`);
    const created: string[] = [];
    let fh: FileHandle;
    let mode: DirectMode | undefined;
    try {
      if (direct && (mode = this.#directMode(tmp)) !== undefined) {
        try {
          fh = await this.#dirs.openTemp(tmp, dir, created, O_DIRECT_WRITE);
        } catch (err) {
          // Filesystems without O_DIRECT (some FUSE and network mounts) refuse it at open.
          if (errnoCode(err) !== 'EINVAL') throw err;
          this.#stages = undefined;
          mode = undefined;
          fh = await this.#dirs.openTemp(tmp, dir, created);
        }
      } else {
        fh = await this.#dirs.openTemp(tmp, dir, created);
      }
    } catch (err) {
      throw this.#saveError(err, label);
    }
    try {
      // open()'s mode is filtered by the umask; set it outright.
      await fh.chmod(FILE_MODE);
    } catch (err) {
      await fh.close().catch(() => {});
      await this.#fs.unlink(tmp).catch(() => {});
      throw this.#saveError(err, label);
    }
    return new FsObjectWriter(
      {
        location: this.location,
        label,
        publish: (from, name) => this.#publish(from, name, created),
        discard: (from) => this.#fs.unlink(from).then(() => {}, () => {}),
      },
      tmp,
      fh,
      mode,
    );
  }

  #directMode(tmp: string): DirectMode | undefined {
    if (this.#stages === 'untried') this.#stages = StagePool.create(this.#alignedAlloc!);
    const pool = this.#stages;
    if (pool === undefined) return undefined;
    return {
      pool,
      refused: () => {
        this.#stages = undefined;
        return this.#fs.open(tmp, 'r+');
      },
    };
  }

  /**
   * Renames a synced temp file to object `name`. The rename is only durable
   * once the directory entry is on disk, and so are any directories created
   * for it (`created`, by the temp file's open or here).
   */
  async #publish(tmp: string, name: string, created: string[]): Promise<void> {
    this.#check('save');
    this.#checkName(name);
    const target = this.#path(name);
    const dir = path.dirname(target);
    try {
      if (path.dirname(tmp) !== dir) await this.#dirs.mkdirs(dir, created, this.root);
      await this.#fs.rename(tmp, target);
    } catch (err) {
      throw this.#saveError(err, name);
    }
    try {
      await this.#dirs.syncDir(dir);
      await this.#dirs.syncParents(created);
    } catch (err) {
      throw mapFsError(err, name, this.location);
    }
  }

  #saveError(err: unknown, name: string): StorageError {
    if (errnoCode(err) === 'ENOTDIR') {
      return new StorageError(StorageErrorCode.Io, `cannot save ${name} in ${this.location}: a parent path is a file, not a directory`, {
        details: { name },
        cause: err,
      });
    }
    return mapFsError(err, name, this.location);
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

  async #isDirectory(file: string): Promise<boolean> {
    try {
      return (await this.#fs.lstat(file)).isDirectory();
    } catch {
      return false;
    }
  }
}
