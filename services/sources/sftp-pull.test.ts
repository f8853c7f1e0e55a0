/** pullSftp against a private sshd's internal-sftp: a mirror with modes, times and links, kept in step. */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../protocol/errors.ts';
import { startSshd, sshdUnavailable, type Sshd } from '../../test/sshd-fixture.ts';
import { pullSftp } from './sftp-pull.ts';
import { SourceErrorCode } from './source-errors.ts';
import type { SshTarget } from './ssh-session.ts';

const exec = promisify(execFile);
const unavailable = sshdUnavailable();
if (unavailable) console.warn(`skipping SFTP pull tests: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('pullSftp', () => {
  let sshd: Sshd;
  let target: SshTarget;
  let remote: string;
  let local: string;

  beforeAll(async () => {
    sshd = await startSshd();
    target = sshd.target;
    remote = join(sshd.dir, 'site');
    await mkdir(join(remote, 'a', 'b'), { recursive: true });
    await writeFile(join(remote, 'index.html'), 'hello\n');
    await writeFile(join(remote, 'a', 'big.bin'), Buffer.alloc(3_000_000, 1));
    await writeFile(join(remote, 'a', 'b', 'run.sh'), '#!/bin/sh\n', { mode: 0o750 });
    await utimes(join(remote, 'index.html'), 1_600_000_000, 1_600_000_000);
    await symlink('../index.html', join(remote, 'a', 'link'));
    local = await mkdtemp(join(tmpdir(), 'ferry-sftp-'));
  });
  afterAll(async () => {
    await sshd?.stop();
    if (local) await rm(local, { recursive: true, force: true });
  });

  it('mirrors the tree with modes, times and links, then fetches only what changed and drops what went', async () => {
    const into = join(local, 'm');
    const first = await pullSftp({ target, remotePath: remote, into });
    expect(first).toMatchObject({ filesTransferred: 3, partial: false });
    await exec('diff', ['-r', '--no-dereference', remote, into]);
    expect((await stat(join(into, 'a', 'b', 'run.sh'))).mode & 0o777).toBe(0o750);
    expect((await stat(join(into, 'index.html'))).mtimeMs).toBe(1_600_000_000_000);

    await rm(join(remote, 'a', 'b', 'run.sh'));
    await writeFile(join(remote, 'new.txt'), 'new\n');
    const second = await pullSftp({ target, remotePath: `${remote}/`, into });
    expect(second.filesTransferred).toBe(1);
    await exec('diff', ['-r', '--no-dereference', remote, into]);
  });

  it('names a missing root', async () => {
    const err = await pullSftp({ target, remotePath: join(sshd.dir, 'nope'), into: join(local, 'x') }).catch((e: unknown) => e);
    expect(hasCode(err, SourceErrorCode.MissingPath)).toBe(true);
  });
});
