/**
 * The restore engine: writes a snapshot (or one subtree or file of it) under
 * a target directory.
 *
 * Safety: every name is checked to be a single path component
 * (safe-name.ts), duplicate names in a directory are refused, files are
 * opened with O_NOFOLLOW, and we never descend into a symlink, so nothing is
 * ever written outside the target.
 *
 * Metadata: by default mode, owner (when running as root), atime and mtime
 * are restored, directories after their contents. `contentOnly` skips all of
 * it. Hard links (nlink > 1, same device and inode within the snapshot) are
 * restored as links.
 *
 * Content: the walk opens each regular file and hands it to a PackRestore,
 * which writes file contents pack by pack on the worker threads; the walk
 * goes on meanwhile. A file's metadata is set through its descriptor when
 * its last blob is written; a directory's when everything under it is done
 * (a count of unfinished entries per open directory).
 */
import { closeSync, constants, fchmodSync, fchownSync, futimesSync, openSync } from 'node:fs';
import { chmod, chown, lchown, link, lstat, lutimes, mkdir, symlink, utimes } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { normalize } from 'node:path';
import type { Logger } from 'pino';
import type { Repository } from './repository.ts';
import { BlobType } from './blob.ts';
import { NodeType, type TreeNode } from './tree.ts';
import { assertSafeName, childPath } from './safe-name.ts';
import { RepoError, RepoErrorCode } from './errors.ts';
import { errorCode, errorMessage } from './error-text.ts';
import { PackRestore, type NeededBlob, type PackRestoreLimits } from './pack-restore.ts';
import type { BlobPlacer } from './place-blobs.ts';

const run = promisify(execFile);

export interface RestoreOptions {
  readonly contentOnly: boolean;
  readonly log: Logger;
  readonly onProgress?: (p: Readonly<RestoreProgress>) => void;
  /** Opens blobs and writes them into files: the blob workers. */
  readonly placer: BlobPlacer;
  readonly limits?: Partial<PackRestoreLimits>;
}

export interface RestoreProgress {
  files: number;
  dirs: number;
  bytes: number;
  errors: number;
}

export interface RestoreResult extends RestoreProgress {
  readonly problems: readonly { path: string; code: string; message: string }[];
}

// utimes takes seconds as a double and the kernel call truncates it to ns; a
// double near 1.8e9 s resolves ~0.24 µs, so aim at the middle of the
// microsecond, or 0.094 s may come back as 0.093999 s.
const nsToSeconds = (ns: bigint): number => (Number(ns / 1000n) + 0.5) / 1e6;

/**
 * Unfinished work under one directory: its listing, plus every entry whose
 * content or metadata is still being written. At zero, the directory's own
 * metadata is set and its parent hears of it.
 */
class Pending {
  private open = 1;
  private readonly onZero: () => void;
  constructor(onZero: () => void) {
    this.onZero = onZero;
  }
  add(): void {
    this.open++;
  }
  done(): void {
    if (--this.open === 0) this.onZero();
  }
}

export class Restorer {
  private readonly progress: RestoreProgress = { files: 0, dirs: 0, bytes: 0, errors: 0 };
  private readonly problems: { path: string; code: string; message: string }[] = [];
  private readonly links = new Map<string, string>();
  private readonly isRoot = process.getuid?.() === 0;
  private readonly repo: Repository;
  private readonly opts: RestoreOptions;
  private readonly packs: PackRestore;
  /** Directory metadata still being set; awaited at the end. */
  private readonly settling = new Set<Promise<void>>();

  constructor(repo: Repository, opts: RestoreOptions) {
    this.repo = repo;
    this.opts = opts;
    this.packs = new PackRestore(repo, opts.placer, opts.limits);
  }

  /** Restores the contents of directory `tree` into `target` (created if missing). */
  async restoreTree(tree: Uint8Array, target: string): Promise<RestoreResult> {
    await mkdir(target, { recursive: true, mode: 0o700 });
    return this.run((root) => this.restoreDir(tree, normalize(target), root));
  }

  /** Restores one node (file, directory, link…) as `target/<node.name>`. */
  async restoreOne(node: TreeNode, target: string): Promise<RestoreResult> {
    assertSafeName(node.name, target);
    await mkdir(target, { recursive: true, mode: 0o700 });
    return this.run((root) => this.restoreEntry(node, childPath(normalize(target), node.name), root));
  }

  /** Runs the walk, then waits for every file and directory it started, even when the walk fails. */
  private async run(walk: (root: Pending) => Promise<void>): Promise<RestoreResult> {
    const root = new Pending(() => {});
    try {
      await walk(root);
    } finally {
      root.done();
      await this.packs.finish();
      while (this.settling.size > 0) await Promise.all([...this.settling]);
    }
    return { ...this.progress, problems: this.problems };
  }

  private problem(path: string, err: unknown): void {
    this.progress.errors++;
    const p = { path, code: errorCode(err), message: errorMessage(err) };
    if (this.problems.length < 100) this.problems.push(p);
    this.opts.log.warn({ path, code: p.code, err: p.message }, 'restore problem at %s: %s', path, p.message);
  }

  private async restoreDir(tree: Uint8Array, dir: string, pending: Pending): Promise<void> {
    const nodes = await this.repo.loadTree(tree);
    const seen = new Set<string>();
    for (const n of nodes) {
      assertSafeName(n.name, dir);
      if (seen.has(n.name)) throw new RepoError(RepoErrorCode.UnsafePath, `refusing to restore ${dir}: the snapshot lists ${JSON.stringify(n.name)} twice`);
      seen.add(n.name);
    }
    for (const n of nodes) await this.restoreEntry(n, childPath(dir, n.name), pending);
  }

  /** Restores one entry under a directory whose unfinished work is `parent`. */
  private async restoreEntry(n: TreeNode, path: string, parent: Pending): Promise<void> {
    try {
      switch (n.type) {
        case NodeType.Dir: {
          await mkdir(path, { mode: 0o700 }).catch(async (e: NodeJS.ErrnoException) => {
            if (e.code !== 'EEXIST' || !(await lstat(path)).isDirectory()) throw e;
          });
          if (!n.subtree) throw new RepoError(RepoErrorCode.Corrupt, `directory ${path} has no subtree in the snapshot`);
          parent.add();
          const mine = new Pending(() => this.settle(n, path, parent));
          try {
            await this.restoreDir(n.subtree, path, mine);
          } finally {
            mine.done();
          }
          return;
        }
        case NodeType.File:
          if (await this.restoreFile(n, path, parent)) return; // metadata is set when its content is written
          break;
        case NodeType.Symlink:
          await symlink(n.linkTarget ?? '', path);
          break;
        case NodeType.Fifo:
          await run('mkfifo', ['-m', '600', '--', path]);
          break;
        case NodeType.CharDevice:
        case NodeType.BlockDevice: {
          if (!this.isRoot) throw new Error('device nodes can only be restored as root; skipped');
          const rdev = n.rdev ?? 0n;
          const major = Number((rdev >> 8n) & 0xfffn);
          const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & 0xfff00n));
          await run('mknod', ['-m', '600', '--', path, n.type === NodeType.CharDevice ? 'c' : 'b', String(major), String(minor)]);
          break;
        }
        case NodeType.Socket:
          return; // recorded in the snapshot, but a socket is only meaningful while its server runs
      }
      await this.applyMetadata(n, path);
    } catch (err) {
      if (err instanceof RepoError && err.code === RepoErrorCode.UnsafePath) throw err;
      this.problem(path, err);
    } finally {
      this.opts.onProgress?.(this.progress);
    }
  }

  /** Sets a finished directory's metadata, then tells its parent. */
  private settle(n: TreeNode, path: string, parent: Pending): void {
    const p = this.applyMetadata(n, path)
      .catch((err: unknown) => this.problem(path, err))
      .finally(() => {
        this.progress.dirs++;
        this.settling.delete(p);
        parent.done();
      });
    this.settling.add(p);
  }

  /**
   * Opens one file and hands its content to the pack restore, which sets
   * its metadata through the descriptor and closes it once written. Returns
   * true for that case; false when the file became a hard link to an
   * earlier one (whose metadata the caller sets by path).
   *
   * Opening, fchmod, futimes and close are synchronous: a restore writes to
   * a local target, where each takes microseconds, while their async forms
   * cost far more in thread-pool hand-offs. Blob reads stay async.
   */
  private async restoreFile(n: TreeNode, path: string, parent: Pending): Promise<boolean> {
    const linkKey = n.nlink > 1 ? `${n.device}:${n.inode}` : undefined;
    const first = linkKey ? this.links.get(linkKey) : undefined;
    if (first) {
      await link(first, path);
      this.progress.files++;
      return false;
    }
    const blobs: NeededBlob[] = (n.content ?? []).map((id) => ({ id, loc: this.repo.locate(id) }));
    const size = blobs.reduce((sum, b) => sum + b.loc.rawLength, 0);
    if (blobs.some((b) => b.loc.type !== BlobType.Data)) throw new RepoError(RepoErrorCode.Corrupt, `${path} lists a blob that is not file data`);
    if (size !== n.size) throw new RepoError(RepoErrorCode.Corrupt, `the snapshot says ${path} holds ${n.size} bytes, but its blobs hold ${size}`);
    const open = () => openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
    if (linkKey) {
      closeSync(open()); // later links to it need it to exist before its content arrives
      this.links.set(linkKey, path);
    }
    parent.add();
    await this.packs.add(open, blobs, (fd, error) => {
      try {
        if (error) throw error;
        if (fd === undefined) throw new Error('the file was never opened');
        if (!this.opts.contentOnly) {
          if (this.isRoot) fchownSync(fd, n.uid, n.gid);
          fchmodSync(fd, n.mode);
          futimesSync(fd, nsToSeconds(n.atimeNs), nsToSeconds(n.mtimeNs));
        }
        this.progress.files++;
        this.progress.bytes += size;
      } catch (err) {
        this.problem(path, err);
      } finally {
        if (fd !== undefined) closeSync(fd);
        this.opts.onProgress?.(this.progress);
        parent.done();
      }
    });
    return true;
  }

  private async applyMetadata(n: TreeNode, path: string): Promise<void> {
    if (this.opts.contentOnly) return;
    const isLink = n.type === NodeType.Symlink;
    if (this.isRoot) await (isLink ? lchown(path, n.uid, n.gid) : chown(path, n.uid, n.gid));
    if (!isLink) await chmod(path, n.mode);
    const at = nsToSeconds(n.atimeNs);
    const mt = nsToSeconds(n.mtimeNs);
    await (isLink ? lutimes(path, at, mt) : utimes(path, at, mt));
  }
}
