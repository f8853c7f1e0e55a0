/**
 * Pulls a remote directory over SFTP (an `sftp` target): for hosts without
 * rsync, and for sites that log in with a password. The staging directory
 * becomes a mirror, as with rsync: files whose size and mtime match are
 * left alone, changed ones are fetched again (`fastGet`, into a temporary
 * name, then renamed), and local entries the remote no longer has are
 * removed. Modes and times are set from the remote's attributes; symbolic
 * links are recreated, not followed.
 *
 * Contract as pullDirectory's (rsync-pull.ts): a remote entry that cannot
 * be read makes the pull `partial` with a warning naming it; a missing
 * root is `source.missing-path`.
 */
import { chmod, lstat, mkdir, readdir, rename, rm, symlink, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import { SshSession, type SshTarget } from './ssh-session.ts';
import { SourceError, SourceErrorCode } from './source-errors.ts';
import type { PullStats } from './rsync-pull.ts';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

interface Entry {
  readonly filename: string;
  readonly attrs: { mode: number; size: number; mtime: number; atime: number };
}

const call = <T>(fn: (cb: (err: Error | undefined | null, v: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));

export async function pullSftp(p: { target: SshTarget; remotePath: string; into: string; signal?: AbortSignal }): Promise<PullStats> {
  const where = SshSession.where(p.target);
  const session = await SshSession.open(p.target);
  const warnings: string[] = [];
  let filesTransferred = 0;
  let totalBytes = 0;
  try {
    const sftp = await session.sftp();
    const root = p.remotePath.replace(/\/+$/, '') || '/';
    const top = await call<{ mode: number }>((cb) => sftp.stat(root, cb)).catch(() => undefined);
    if (!top || (top.mode & S_IFMT) !== S_IFDIR) throw new SourceError(SourceErrorCode.MissingPath, `${where}: ${root} does not exist on the remote host or is not a directory`, { details: { path: root } });
    await mkdir(p.into, { recursive: true, mode: 0o700 });

    const mirror = async (remote: string, local: string): Promise<void> => {
      p.signal?.throwIfAborted();
      let list: Entry[];
      try {
        list = await call<Entry[]>((cb) => sftp.readdir(remote, cb));
      } catch (err) {
        warnings.push(`${remote}: ${(err as Error).message}`);
        return;
      }
      const names = new Set(list.map((e) => e.filename));
      for (const name of await readdir(local)) if (!names.has(name)) await rm(join(local, name), { recursive: true, force: true });
      for (const e of list.sort((a, b) => (a.filename < b.filename ? -1 : 1))) {
        const r = posix.join(remote, e.filename);
        const l = join(local, e.filename);
        const type = e.attrs.mode & S_IFMT;
        const have = await lstat(l).catch(() => undefined);
        try {
          if (type === S_IFDIR) {
            if (have && !have.isDirectory()) await rm(l, { recursive: true, force: true });
            await mkdir(l, { recursive: true });
            await mirror(r, l);
          } else if (type === S_IFREG) {
            const same = have?.isFile() && have.size === e.attrs.size && Math.floor(have.mtimeMs / 1000) === e.attrs.mtime;
            if (!same) {
              if (have && !have.isFile()) await rm(l, { recursive: true, force: true });
              const part = posix.join(local, `.${e.filename}.ferry-part`);
              await call<void>((cb) => (sftp as SFTPWrapper).fastGet(r, part, (err) => cb(err, undefined)));
              await rename(part, l);
              filesTransferred++;
            }
            totalBytes += e.attrs.size;
          } else if (type === S_IFLNK) {
            const to = await call<string>((cb) => sftp.readlink(r, cb));
            if (have) await rm(l, { recursive: true, force: true });
            await symlink(to, l);
            continue; // a link's own mode and times are not kept
          } else {
            continue; // devices, sockets and fifos are not data to pull
          }
          await chmod(l, e.attrs.mode & 0o7777);
          await utimes(l, e.attrs.atime, e.attrs.mtime);
        } catch (err) {
          if (p.signal?.aborted) throw err;
          warnings.push(`${r}: ${(err as Error).message}`);
        }
      }
    };
    await mirror(root, p.into);
  } finally {
    await session.close();
  }
  return { filesTransferred, totalBytes, partial: warnings.length > 0, warnings };
}
