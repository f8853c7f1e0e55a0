/** pullDirectory with the real rsync and ssh against a private sshd on loopback. */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../protocol/errors.ts';
import { startSshd, sshdUnavailable, type Sshd } from '../../test/sshd-fixture.ts';
import { pullDirectory } from './rsync-pull.ts';
import { SshErrorCode } from './ssh-errors.ts';
import { SourceErrorCode } from './source-errors.ts';
import type { SshTarget } from './ssh-session.ts';

const exec = promisify(execFile);
const unavailable = sshdUnavailable();
if (unavailable) console.warn(`skipping rsync pull tests: ${unavailable}`);
const asRoot = process.getuid?.() === 0;
if (asRoot) console.warn('skipping the unreadable-file test of rsync pulls: running as root, which reads every file');

describe.skipIf(unavailable !== undefined)('pullDirectory', () => {
  let sshd: Sshd;
  let target: SshTarget;
  let remote: string;
  let local: string;

  beforeAll(async () => {
    sshd = await startSshd();
    target = sshd.target;
    remote = join(sshd.dir, 'www');
    await mkdir(join(remote, 'a', 'b'), { recursive: true });
    await writeFile(join(remote, 'index.html'), '<h1>hi</h1>\n');
    await writeFile(join(remote, 'a', "it's a name with spaces.txt"), 'spaces\n');
    await writeFile(join(remote, 'a', 'b', 'secret.key'), 'k', { mode: 0o600 });
    await writeFile(join(remote, 'a', 'b', 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    await utimes(join(remote, 'index.html'), 1_600_000_000, 1_600_000_000);
    await symlink('../index.html', join(remote, 'a', 'link'));
    local = await mkdtemp(join(tmpdir(), 'ferry-pull-'));
  });
  afterAll(async () => {
    await sshd?.stop();
    if (local) await rm(local, { recursive: true, force: true });
  });

  it('mirrors the remote tree with modes, times and symlinks, then sends only changes and deletes what went', async () => {
    const into = join(local, 'site', 'target');
    const first = await pullDirectory({ target, remotePath: remote, into });
    expect(first).toMatchObject({ filesTransferred: 4, partial: false, warnings: [] });
    await exec('diff', ['-r', '--no-dereference', remote, into]);
    expect((await stat(join(into, 'a', 'b', 'secret.key'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(into, 'a', 'b', 'run.sh'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(into, 'index.html'))).mtimeMs).toBe(1_600_000_000_000);

    await rm(join(remote, 'a', 'b', 'run.sh'));
    await writeFile(join(remote, 'index.html'), '<h1>changed</h1>\n');
    await writeFile(join(remote, 'new.txt'), 'new\n');
    const second = await pullDirectory({ target, remotePath: `${remote}/`, into });
    expect(second.filesTransferred).toBe(2);
    await exec('diff', ['-r', '--no-dereference', remote, into]);
  });

  // Root reads every file whatever its mode, so only another user can meet an unreadable one.
  it.skipIf(asRoot)('reports unreadable remote files as a partial pull with rsync\'s words, and keeps the rest', async () => {
    const locked = join(remote, 'locked.txt');
    await writeFile(locked, 'x');
    await chmod(locked, 0);
    const r = await pullDirectory({ target, remotePath: remote, into: join(local, 'partial') });
    expect(r.partial).toBe(true);
    expect(r.warnings.join('\n')).toMatch(/locked\.txt/);
    await rm(locked, { force: true });
  });

  it('names a missing remote path, a host key that is not the pinned one, and a site with no pinned key', async () => {
    const missing = await pullDirectory({ target, remotePath: join(sshd.dir, 'nope'), into: join(local, 'x') }).catch((e: unknown) => e);
    expect(hasCode(missing, SourceErrorCode.MissingPath)).toBe(true);
    expect((missing as Error).message).toContain(join(sshd.dir, 'nope'));

    const other = await readFile(`${sshd.wrongKeyFile}.pub`, 'utf8');
    const forged = await pullDirectory({ target: { ...target, hostKey: other }, remotePath: remote, into: join(local, 'y') }).catch((e: unknown) => e);
    expect(hasCode(forged, SshErrorCode.HostKeyMismatch)).toBe(true);

    const unpinned = await pullDirectory({ target: { ...target, hostKey: undefined }, remotePath: remote, into: join(local, 'z') }).catch((e: unknown) => e);
    expect(hasCode(unpinned, SshErrorCode.BadTarget)).toBe(true);
    expect((unpinned as Error).message).toMatch(/preflight/);

    const refused = await pullDirectory({ target: { ...target, privateKey: await readFile(sshd.wrongKeyFile, 'utf8') }, remotePath: remote, into: join(local, 'w') }).catch((e: unknown) => e);
    expect(hasCode(refused, SshErrorCode.AuthFailed)).toBe(true);
  });
});
