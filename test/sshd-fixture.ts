/**
 * A private OpenSSH server on loopback for tests of pull sources: its own
 * host key, one client key in its authorized_keys, `sftp` built in, no PAM.
 * It logs in as the user the tests run as.
 *
 * sshd refuses to start without its privilege-separation directory
 * /run/sshd, which only root may create; `sshdUnavailable()` says why a
 * test must skip instead of failing.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { keyLineOf, type SshTarget } from '../services/sources/ssh-session.ts';

const SSHD = '/usr/sbin/sshd';

export interface Sshd {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The client's private key file, in authorized_keys. */
  readonly keyFile: string;
  /** A second key, not in authorized_keys. */
  readonly wrongKeyFile: string;
  /** The host key as known_hosts writes it (`ssh-ed25519 AAAA…`). */
  readonly hostKey: string;
  /** Its fingerprint as OpenSSH prints it: `SHA256:` and unpadded base64. */
  readonly hostKeyFingerprint: string;
  /** A scratch directory the tests may use as the remote side. */
  readonly dir: string;
  /** The sessions' TMPDIR: what a pull leaves behind on the site shows here. */
  readonly tmp: string;
  /** How Ferry reaches this server: the client key, the host key pinned. */
  readonly target: SshTarget;
  /** Stops the server; safe to call twice. */
  stop(): Promise<void>;
}

/** Why this machine cannot run the fixture, or undefined if it can. */
export function sshdUnavailable(): string | undefined {
  if (!existsSync(SSHD)) return `${SSHD} is not installed (Debian: openssh-server)`;
  if (!existsSync('/run/sshd') && process.getuid?.() !== 0) return 'sshd needs /run/sshd, which only root can create, and the tests do not run as root';
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

async function listening(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}: ${log()}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on ${port} within 10 s: ${log()}`);
}

function keygen(file: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ferry-test', '-f', file]);
}

export interface SshdOptions {
  /** PATH for the sessions (sshd_config SetEnv), e.g. to leave a tool out. */
  readonly path?: string;
}

export async function startSshd(opts: SshdOptions = {}): Promise<Sshd> {
  const why = sshdUnavailable();
  if (why) throw new Error(why);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), 'ferry-sshd-'));
  const hostKey = join(dir, 'host_ed25519');
  const keyFile = join(dir, 'client_ed25519');
  const wrongKeyFile = join(dir, 'other_ed25519');
  for (const f of [hostKey, keyFile, wrongKeyFile]) keygen(f);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${keyFile}.pub`), { mode: 0o600 });
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'Subsystem sftp internal-sftp',
      `SetEnv TMPDIR=${join(dir, 'tmp')}${opts.path ? ` PATH=${opts.path}` : ''}`,
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  let stderr = '';
  const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  await listening(port, child, () => stderr);
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
  const remote = join(dir, 'remote');
  mkdirSync(remote);
  mkdirSync(join(dir, 'tmp'));
  let stopped: Promise<void> | undefined;
  const pinned = keyLineOf(readFileSync(`${hostKey}.pub`, 'utf8'));
  return {
    target: { host: '127.0.0.1', port, user: userInfo().username, privateKey: readFileSync(keyFile, 'utf8'), hostKey: pinned },
    host: '127.0.0.1',
    port,
    user: userInfo().username,
    keyFile,
    wrongKeyFile,
    hostKey: pinned,
    hostKeyFingerprint: fingerprint,
    dir: remote,
    tmp: join(dir, 'tmp'),
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }).then(() => rmSync(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}
