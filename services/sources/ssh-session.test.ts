/** SshSession against a real private sshd on loopback (test/sshd-fixture.ts). */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../protocol/errors.ts';
import { startSshd, sshdUnavailable, type Sshd } from '../../test/sshd-fixture.ts';
import { SshSession, fingerprintOfKeyLine, type SshTarget } from './ssh-session.ts';
import { SshErrorCode } from './ssh-errors.ts';

const unavailable = sshdUnavailable();
if (unavailable) console.warn(`skipping SSH session tests: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('SshSession', () => {
  let sshd: Sshd;
  let target: SshTarget;

  beforeAll(async () => {
    sshd = await startSshd();
    target = { host: sshd.host, port: sshd.port, user: sshd.user, privateKey: readFileSync(sshd.keyFile) };
  });
  afterAll(() => sshd?.stop());

  it('logs in with a key, reports the host key on first use, and runs commands with their status and output', async () => {
    const s = await SshSession.open(target);
    try {
      expect(s.hostKey).toBe(sshd.hostKey);
      expect(s.hostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
      const ok = await s.exec(`printf '%s' hello; printf oops >&2`);
      expect(ok).toMatchObject({ code: 0, stderr: 'oops' });
      expect(ok.stdout.toString()).toBe('hello');
      expect((await s.exec('exit 7')).code).toBe(7);
    } finally {
      await s.close();
      await s.close();
    }
  });

  it('accepts the pinned host key and refuses another, naming both', async () => {
    const pinned = await SshSession.open({ ...target, hostKey: `${sshd.hostKey} comment` });
    await pinned.close();
    const other = readFileSync(`${sshd.wrongKeyFile}.pub`, 'utf8');
    const err = await SshSession.open({ ...target, hostKey: other }).catch((e: unknown) => e);
    expect(hasCode(err, SshErrorCode.HostKeyMismatch)).toBe(true);
    expect((err as Error).message).toContain(sshd.hostKeyFingerprint);
    expect((err as Error).message).toContain(fingerprintOfKeyLine(other));
  });

  it('names a refused key, an unreachable port and a missing credential, without the key in the message', async () => {
    const wrongKey = readFileSync(sshd.wrongKeyFile, 'utf8');
    const auth = await SshSession.open({ ...target, privateKey: wrongKey }).catch((e: unknown) => e);
    expect(hasCode(auth, SshErrorCode.AuthFailed)).toBe(true);
    expect((auth as Error).message).toMatch(/refused the key or password/);
    expect(JSON.stringify(auth)).not.toContain(wrongKey.split('\n')[1]!);

    const closed = await SshSession.open({ ...target, port: 1 }).catch((e: unknown) => e);
    expect(hasCode(closed, SshErrorCode.Unreachable)).toBe(true);
    expect((closed as { retryable: boolean }).retryable).toBe(true);
    expect((closed as Error).message).toMatch(/cannot connect \(ECONNREFUSED\)/);

    const none = await SshSession.open({ host: sshd.host, port: sshd.port, user: sshd.user }).catch((e: unknown) => e);
    expect(hasCode(none, SshErrorCode.BadTarget)).toBe(true);
  });

  it('fails a command whose output passes the limit instead of holding it', async () => {
    const s = await SshSession.open(target);
    try {
      const err = await s.exec('head -c 100000 /dev/zero', { maxOutputBytes: 1000 }).catch((e: unknown) => e);
      expect(hasCode(err, SshErrorCode.ChannelFailed)).toBe(true);
      expect((await s.exec('true')).code).toBe(0);
    } finally {
      await s.close();
    }
  });
});
