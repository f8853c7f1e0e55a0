/**
 * Pulls a remote directory into a local staging directory with rsync over
 * SSH (a `directory` target). The staging directory is a persistent mirror:
 * each pull sends only what changed and deletes what the remote deleted, so
 * the snapshot taken of it afterwards is the remote tree as of the pull.
 *
 * Contract:
 * - Resolves when the mirror is complete, or complete but for files that
 *   vanished or could not be read on the remote (`partial`, with rsync's
 *   lines about them in `warnings`): a target with some unreadable files is
 *   a warning, not a failure.
 * - Rejects with an SshError (host key, login, network) or a SourceError
 *   (`source.missing-path`, `source.missing-tool`, `source.failed`) whose
 *   message names the cause.
 * - Modes and times are kept as the remote has them (the snapshot records
 *   them, and a restore puts them back); owners only where this process
 *   may set them. Isolation comes from the site's staging directory, 0700,
 *   which the caller creates above `into`.
 */
import { mkdir } from 'node:fs/promises';
import { withOpenSshFiles } from './openssh-files.ts';
import { SshError, SshErrorCode } from './ssh-errors.ts';
import { SshSession, type SshTarget } from './ssh-session.ts';
import { SourceError, SourceErrorCode } from './source-errors.ts';
import { runTool } from './run-tool.ts';

export interface DirectoryPull {
  readonly target: SshTarget;
  /** Absolute path on the remote host. */
  readonly remotePath: string;
  /** Local mirror; created if missing. */
  readonly into: string;
  readonly signal?: AbortSignal;
}

export interface PullStats {
  /** Regular files sent by this pull (changed or new). */
  readonly filesTransferred: number;
  /** Bytes of regular files in the mirror. */
  readonly totalBytes: number;
  readonly partial: boolean;
  readonly warnings: string[];
}

/** rsync's exit statuses that leave a usable mirror (rsync(1), EXIT VALUES). */
const PARTIAL = new Map([
  [23, 'some files could not be transferred'],
  [24, 'some files vanished during the transfer'],
]);

export async function pullDirectory(p: DirectoryPull): Promise<PullStats> {
  if (!p.remotePath.startsWith('/')) throw new SourceError(SourceErrorCode.MissingPath, `remote path ${JSON.stringify(p.remotePath)} must be absolute`);
  await mkdir(p.into, { recursive: true, mode: 0o700 });
  return withOpenSshFiles(p.target, async ({ sshCommand, login }) => {
    const remote = `${login}:${p.remotePath.replace(/\/*$/, '/')}`;
    // -s (secluded args): the path reaches the remote rsync as one argument, never through its shell.
    const args = ['-a', '-s', '--delete', '--numeric-ids', '--stats', '-e', sshCommand, remote, `${p.into.replace(/\/*$/, '')}/`];
    const { code, stdout, stderr } = await runTool('rsync', args, p.signal ? { signal: p.signal } : {});
    const where = SshSession.where(p.target);
    if (code === 0 || PARTIAL.has(code)) {
      // A missing root is exit 23 too, but with nothing mirrored.
      if (code === 23 && /change_dir .* failed|link_stat .* failed: No such file or directory/.test(stderr) && missingRoot(stderr, p.remotePath)) {
        throw new SourceError(SourceErrorCode.MissingPath, `${where}: ${p.remotePath} does not exist on the remote host`, { details: { path: p.remotePath } });
      }
      return {
        filesTransferred: statNumber(stdout, 'Number of regular files transferred'),
        totalBytes: statNumber(stdout, 'Total file size'),
        partial: code !== 0,
        warnings: code === 0 ? [] : [PARTIAL.get(code)!, ...lines(stderr)],
      };
    }
    throw classify(code, stderr, where, p);
  });
}

function missingRoot(stderr: string, path: string): boolean {
  const root = path.replace(/\/*$/, '');
  return stderr.includes(`"${root}/"`) || stderr.includes(`"${root}"`);
}

function classify(code: number, stderr: string, where: string, p: DirectoryPull): Error {
  const details = { host: p.target.host, port: p.target.port, user: p.target.user, exit: code };
  const tail = lines(stderr).slice(-3).join(' | ');
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr)) {
    return new SshError(SshErrorCode.HostKeyMismatch, `${where}: the server's host key is not the pinned one; if the host was rebuilt, check its new key and pin it again`, { details });
  }
  if (/Permission denied \(/.test(stderr)) return new SshError(SshErrorCode.AuthFailed, `${where}: the server refused the key`, { details });
  if (/Connection refused|No route to host|Could not resolve hostname|Connection timed out/.test(stderr)) {
    return new SshError(SshErrorCode.Unreachable, `${where}: cannot connect: ${tail}`, { details });
  }
  if (/rsync: (command )?not found|rsync: No such file or directory/.test(stderr)) {
    return new SourceError(SourceErrorCode.MissingTool, `${where}: rsync is not installed on the remote host; install it, or use an sftp target`, { details });
  }
  return new SourceError(SourceErrorCode.Failed, `${where}: rsync of ${p.remotePath} failed (exit ${code}): ${tail || 'no message'}`, { details });
}

function lines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '').slice(0, 50);
}

function statNumber(stats: string, label: string): number {
  const m = new RegExp(`^${label}: ([\\d,.]+)`, 'm').exec(stats);
  return m ? Number(m[1]!.replace(/[,.]/g, '')) : 0;
}

