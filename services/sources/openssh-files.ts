/**
 * What OpenSSH's own client needs to reach a site exactly as SshSession
 * does: the private key and the pinned host key as files, in a directory
 * only this user can enter, removed when the work is done. Tools that run
 * over ssh (rsync) get `sshCommand`, which refuses any host key but the
 * pinned one and never asks a question.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SshError, SshErrorCode } from './ssh-errors.ts';
import { SshSession, keyLineOf, type SshTarget } from './ssh-session.ts';

export interface OpenSshFiles {
  /** `ssh` and its options, as one string for rsync's `-e` (no path in it holds a space). */
  readonly sshCommand: string;
  /** `user@host`, for `user@host:path` arguments. */
  readonly login: string;
}

/** Runs `fn` with the files in place, and removes them however it ends. */
export async function withOpenSshFiles<T>(target: SshTarget, fn: (files: OpenSshFiles) => Promise<T>): Promise<T> {
  const where = SshSession.where(target);
  if (target.privateKey === undefined) {
    throw new SshError(SshErrorCode.BadTarget, `${where}: rsync logs in through OpenSSH, which needs a key; this site has only a password (use an sftp target)`);
  }
  if (target.hostKey === undefined) {
    throw new SshError(SshErrorCode.BadTarget, `${where}: no pinned host key; run the site's preflight first, which pins it`);
  }
  const base = tmpdir();
  if (/\s/.test(base)) throw new SshError(SshErrorCode.BadTarget, `the temporary directory ${JSON.stringify(base)} holds a space, which rsync's -e cannot carry; set TMPDIR`);
  const dir = await mkdtemp(join(base, 'ferry-ssh-')); // 0700
  try {
    const key = join(dir, 'key');
    const knownHosts = join(dir, 'known_hosts');
    const keyText = Buffer.isBuffer(target.privateKey) ? target.privateKey.toString('utf8') : target.privateKey;
    await writeFile(key, keyText.endsWith('\n') ? keyText : `${keyText}\n`, { mode: 0o600 });
    const hostField = target.port === 22 ? target.host : `[${target.host}]:${target.port}`;
    await writeFile(knownHosts, `${hostField} ${keyLineOf(target.hostKey)}\n`, { mode: 0o600 });
    const sshCommand = [
      'ssh',
      `-p ${target.port}`,
      `-i ${key}`,
      '-o IdentitiesOnly=yes',
      `-o UserKnownHostsFile=${knownHosts}`,
      '-o GlobalKnownHostsFile=/dev/null',
      '-o StrictHostKeyChecking=yes',
      '-o BatchMode=yes',
      '-o ConnectTimeout=15',
      '-o ServerAliveInterval=15',
      '-o LogLevel=ERROR',
    ].join(' ');
    return await fn({ sshCommand, login: `${target.user}@${target.host}` });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
