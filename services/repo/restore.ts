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
 */
import { closeSync, constants, fchmodSync, fchownSync, futimesSync, openSync, writeSync } from 'node:fs';
import { chmod, chown, lchown, link, lstat, lutimes, mkdir, symlink, utimes } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Semaphore } from '../storage/semaphore.ts';
import type { Repository } from './repository.ts';
import { BlobType } from './blob.ts';
import { NodeType, type TreeNode } from './tree.ts';
import { assertSafeName } from './safe-name.ts';
import { RepoError, RepoErrorCode } from './errors.ts';
import { errorCode, errorMessage } from './error-text.ts';

const run = promisify(execFile);

export interface RestoreOptions {
  readonly contentOnly: boolean;
  readonly log: Logger;
  readonly onProgress?: (p: Readonly<RestoreProgress>) => void;
  readonly concurrency?: number;
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

export class Restorer {
  private readonly progress: RestoreProgress = { files: 0, dirs: 0, bytes: 0, errors: 0 };
  private readonly problems: { path: string; code: string; message: string }[] = [];
  private readonly links = new Map<string, string>();
  private readonly files: Semaphore;
  private readonly isRoot = process.getuid?.() === 0;
  private readonly repo: Repository;
  private readonly opts: RestoreOptions;

  constructor(repo: Repository, opts: RestoreOptions) {
    this.repo = repo;
    this.opts = opts;
    this.files = new Semaphore(opts.concurrency ?? 8);
  }

  /** Restores the contents of directory `tree` into `target` (created if missing). */
  async restoreTree(tree: Uint8Array, target: string): Promise<RestoreResult> {
    await mkdir(target, { recursive: true, mode: 0o700 });
    await this.restoreDir(tree, target);
    return { ...this.progress, problems: this.problems };
  }

  /** Restores one node (file, directory, link…) as `target/<node.name>`. */
  async restoreOne(node: TreeNode, target: string): Promise<RestoreResult> {
    assertSafeName(node.name, target);
    await mkdir(target, { recursive: true, mode: 0o700 });
    await this.restoreEntry(node, join(target, node.name));
    return { ...this.progress, problems: this.problems };
  }

  private problem(path: string, err: unknown): void {
    this.progress.errors++;
    const p = { path, code: errorCode(err), message: errorMessage(err) };
    if (this.problems.length < 100) this.problems.push(p);
    this.opts.log.warn({ path, code: p.code, err: p.message }, 'restore problem at %s: %s', path, p.message);
  }

  private async restoreDir(tree: Uint8Array, dir: string): Promise<void> {
    const nodes = await this.repo.loadTree(tree);
    const seen = new Set<string>();
    for (const n of nodes) {
      assertSafeName(n.name, dir);
      if (seen.has(n.name)) throw new RepoError(RepoErrorCode.UnsafePath, `refusing to restore ${dir}: the snapshot lists ${JSON.stringify(n.name)} twice`);
      seen.add(n.name);
    }
    const pending: Promise<void>[] = [];
    for (const n of nodes) {
      const path = join(dir, n.name);
      if (n.type === NodeType.File) {
        const release = await this.files.acquire();
        pending.push(this.restoreEntry(n, path).finally(release));
      } else {
        await this.restoreEntry(n, path);
      }
    }
    await Promise.all(pending);
  }

  private async restoreEntry(n: TreeNode, path: string): Promise<void> {
    try {
      switch (n.type) {
        case NodeType.Dir: {
          await mkdir(path, { mode: 0o700 }).catch(async (e: NodeJS.ErrnoException) => {
            if (e.code !== 'EEXIST' || !(await lstat(path)).isDirectory()) throw e;
          });
          if (!n.subtree) throw new RepoError(RepoErrorCode.Corrupt, `directory ${path} has no subtree in the snapshot`);
          await this.restoreDir(n.subtree, path);
          this.progress.dirs++;
          break;
        }
        case NodeType.File: {
          const linked = await this.restoreFile(n, path);
          this.progress.files++;
          if (!linked) return; // restoreFile set the metadata through its descriptor
          break;
        }
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

  /**
   * Writes one file and, unless it became a hard link to an earlier one,
   * sets its metadata through the open descriptor. Returns true for a link
   * (whose metadata the caller sets by path).
   *
   * File system calls here are synchronous: a restore writes to a local
   * target, where open/write/fchmod/futimes/close each take microseconds,
   * while their async forms cost far more in thread-pool hand-offs than the
   * calls themselves (the async version spent most of a 33k-file restore
   * there). Blob reads, which may go to remote storage, stay async.
   */
  private async restoreFile(n: TreeNode, path: string): Promise<boolean> {
    const linkKey = n.nlink > 1 ? `${n.device}:${n.inode}` : undefined;
    const first = linkKey ? this.links.get(linkKey) : undefined;
    if (first) {
      await link(first, path);
      return true;
    }
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
    try {
      let pos = 0;
      for (const id of n.content ?? []) {
        const data = await this.repo.readBlob(id, BlobType.Data);
        for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done, pos + done);
        pos += data.length;
        this.progress.bytes += data.length;
      }
      if (pos !== n.size) throw new RepoError(RepoErrorCode.Corrupt, `restored ${pos} bytes but the snapshot says ${n.size}`);
      if (!this.opts.contentOnly) {
        if (this.isRoot) fchownSync(fd, n.uid, n.gid);
        fchmodSync(fd, n.mode);
        futimesSync(fd, nsToSeconds(n.atimeNs), nsToSeconds(n.mtimeNs));
      }
    } finally {
      closeSync(fd);
    }
    if (linkKey) this.links.set(linkKey, path);
    return false;
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
