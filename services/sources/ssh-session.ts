/**
 * One SSH connection to a site, for pull sources: run remote commands and
 * read their output. Nothing is installed on the remote host.
 *
 * Contract:
 * - `SshSession.open` resolves once the server is authenticated *and* its
 *   host key is the pinned one; with no pin (first use) it accepts the key
 *   and reports it in `hostKey`, for the caller to pin. Failures are
 *   SshErrors whose code names the cause (ssh-errors.ts).
 * - Credentials never appear in errors or logs; only host, port and user do.
 * - `exec` runs one command and resolves with its exit status and output,
 *   whatever the status: a remote failure is data for the caller to judge.
 *   Output beyond `maxOutputBytes` fails the call rather than grow memory.
 * - `close()` ends the connection and is safe to call twice.
 */
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { SshError, SshErrorCode } from './ssh-errors.ts';

export interface SshTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** A private key (OpenSSH or PEM text). One of privateKey and password is required. */
  readonly privateKey?: string | Buffer | undefined;
  readonly password?: string | undefined;
  /** The host key to insist on, as in known_hosts (`ssh-ed25519 AAAA…`); undefined on first use. */
  readonly hostKey?: string | undefined;
}

export interface SshSessionOptions {
  /** Time for the TCP connect, handshake and authentication (default 15 s). */
  readonly readyTimeoutMs?: number;
}

export interface ExecResult {
  readonly code: number;
  /** Set when the command died of a signal. */
  readonly signal?: string | undefined;
  readonly stdout: Buffer;
  readonly stderr: string;
}

export interface ExecOptions {
  readonly maxOutputBytes?: number;
  readonly signal?: AbortSignal;
}

const DEFAULT_MAX_OUTPUT = 16 * 1024 * 1024;

/** OpenSSH's fingerprint of a host key blob: SHA-256, base64 without padding. */
export function sshFingerprint(keyBlob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** A key blob as known_hosts and authorized_keys write it: its type (the blob's first field), a space, base64. */
export function sshPublicKeyLine(keyBlob: Buffer): string {
  const typeLength = keyBlob.length >= 4 ? keyBlob.readUInt32BE(0) : 0;
  const type = typeLength > 0 && 4 + typeLength <= keyBlob.length ? keyBlob.toString('latin1', 4, 4 + typeLength) : 'unknown';
  return `${type} ${keyBlob.toString('base64')}`;
}

/** A public key as given (`type base64 [comment]`, with any spacing) reduced to `type base64`, the form that is compared and written. */
export function keyLineOf(text: string): string {
  return text.trim().split(/\s+/).slice(0, 2).join(' ');
}

/** The fingerprint of a key written as `type base64`. */
export function fingerprintOfKeyLine(line: string): string {
  return sshFingerprint(Buffer.from(line.trim().split(/\s+/)[1] ?? '', 'base64'));
}

export class SshSession {
  readonly target: SshTarget;
  /** The key the server presented, as `type base64` (what to pin). */
  readonly hostKey: string;
  /** Its fingerprint, as `ssh-keygen -l` prints it: for people. */
  readonly hostKeyFingerprint: string;
  readonly #client: Client;
  #closed: Promise<void> | undefined;

  private constructor(target: SshTarget, client: Client, hostKey: string) {
    this.target = target;
    this.#client = client;
    this.hostKey = hostKey;
    this.hostKeyFingerprint = fingerprintOfKeyLine(hostKey);
  }

  /** Where, for messages: `user@host:port`. */
  static where(t: Pick<SshTarget, 'host' | 'port' | 'user'>): string {
    return `${t.user}@${t.host}:${t.port}`;
  }

  static async open(target: SshTarget, opts: SshSessionOptions = {}): Promise<SshSession> {
    const where = SshSession.where(target);
    const details = { host: target.host, port: target.port, user: target.user };
    if (target.privateKey === undefined && target.password === undefined) {
      throw new SshError(SshErrorCode.BadTarget, `${where}: no key and no password to log in with`, { details });
    }
    const client = new Client();
    const pinned = target.hostKey === undefined ? undefined : keyLineOf(target.hostKey);
    let seen: string | undefined;
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.user,
      readyTimeout: opts.readyTimeoutMs ?? 15_000,
      ...(target.privateKey !== undefined ? { privateKey: target.privateKey } : {}),
      ...(target.password !== undefined ? { password: target.password } : {}),
      hostVerifier: (key: Buffer) => {
        seen = sshPublicKeyLine(key);
        return pinned === undefined || seen === pinned;
      },
    };
    return new Promise<SshSession>((resolve, reject) => {
      const fail = (err: Error & { level?: string; code?: string }) => {
        client.end();
        reject(classify(err, where, details, pinned, seen));
      };
      client.once('ready', () => {
        client.removeListener('error', fail);
        // Errors after the handshake surface through the calls that meet them.
        client.on('error', () => {});
        resolve(new SshSession(target, client, seen!));
      });
      client.once('error', fail);
      try {
        client.connect(config);
      } catch (err) {
        // ssh2 throws synchronously on a key it cannot parse.
        reject(new SshError(SshErrorCode.BadTarget, `${where}: the private key cannot be used: ${(err as Error).message}`, { details, cause: err }));
      }
    });
  }

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    const where = SshSession.where(this.target);
    return new Promise<ExecResult>((resolve, reject) => {
      this.#client.exec(command, (err: Error | undefined, channel: ClientChannel) => {
        if (err) {
          reject(new SshError(SshErrorCode.ChannelFailed, `${where}: could not run a command: ${err.message}`, { cause: err }));
          return;
        }
        const out: Buffer[] = [];
        let outBytes = 0;
        let stderr = '';
        let overflow = false;
        const abort = () => channel.close();
        opts.signal?.addEventListener('abort', abort, { once: true });
        channel.on('data', (d: Buffer) => {
          outBytes += d.length;
          if (outBytes > max) {
            overflow = true;
            channel.close();
          } else out.push(d);
        });
        channel.stderr.on('data', (d: Buffer) => {
          if (stderr.length < 64 * 1024) stderr += d.toString();
        });
        channel.once('close', (code: number | null, signal?: string) => {
          opts.signal?.removeEventListener('abort', abort);
          if (overflow) reject(new SshError(SshErrorCode.ChannelFailed, `${where}: command output exceeded ${max} bytes`));
          else if (opts.signal?.aborted) reject(opts.signal.reason);
          else if (code === null && signal === undefined) reject(new SshError(SshErrorCode.ChannelFailed, `${where}: the connection closed before the command finished`));
          else resolve({ code: code ?? -1, signal, stdout: Buffer.concat(out), stderr });
        });
      });
    });
  }

  /**
   * Runs `command` and writes its standard output to `sink` as it comes (a
   * dump or a file's bytes, of any size), resolving with its status and
   * standard error once both the command and the sink are done.
   */
  async execTo(command: string, sink: NodeJS.WritableStream, opts: { signal?: AbortSignal; stdin?: string } = {}): Promise<Omit<ExecResult, 'stdout'>> {
    const where = SshSession.where(this.target);
    const channel = await new Promise<ClientChannel>((resolve, reject) =>
      this.#client.exec(command, (err: Error | undefined, ch: ClientChannel) =>
        err ? reject(new SshError(SshErrorCode.ChannelFailed, `${where}: could not run a command: ${err.message}`, { cause: err })) : resolve(ch),
      ),
    );
    let stderr = '';
    channel.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += d.toString();
    });
    const closed = new Promise<{ code: number | null; signal?: string }>((resolve) => channel.once('close', (code: number | null, signal?: string) => resolve({ code, signal })));
    const abort = () => channel.close();
    opts.signal?.addEventListener('abort', abort, { once: true });
    // Secrets go in on stdin, never on the command line, where the site's `ps` would show them.
    if (opts.stdin !== undefined) channel.write(opts.stdin);
    channel.end();
    try {
      await pipeline(channel, sink);
    } finally {
      opts.signal?.removeEventListener('abort', abort);
    }
    const { code, signal } = await closed;
    if (code === null && signal === undefined) throw new SshError(SshErrorCode.ChannelFailed, `${where}: the connection closed before the command finished`);
    return { code: code ?? -1, signal, stderr };
  }

  /** The SFTP subsystem of this connection (for hosts without rsync). */
  sftp(): Promise<SFTPWrapper> {
    const where = SshSession.where(this.target);
    return new Promise((resolve, reject) =>
      this.#client.sftp((err: Error | undefined, sftp: SFTPWrapper) =>
        err ? reject(new SshError(SshErrorCode.ChannelFailed, `${where}: the SFTP subsystem is not available: ${err.message}`, { cause: err })) : resolve(sftp),
      ),
    );
  }

  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#client.once('close', () => resolve());
      this.#client.end();
      // A connection already gone emits no second close.
      setTimeout(resolve, 1000).unref();
    });
    return this.#closed;
  }
}

function classify(
  err: Error & { level?: string; code?: string },
  where: string,
  details: { host: string; port: number; user: string },
  pinned: string | undefined,
  seen: string | undefined,
): SshError {
  if (pinned !== undefined && seen !== undefined && seen !== pinned) {
    const [got, want] = [fingerprintOfKeyLine(seen), fingerprintOfKeyLine(pinned)];
    return new SshError(
      SshErrorCode.HostKeyMismatch,
      `${where}: the server's host key ${got} is not the pinned ${want}; if the host was rebuilt, check the new key out of band and pin it again`,
      { details: { ...details, seen: got, pinned: want }, cause: err },
    );
  }
  switch (err.level) {
    case 'client-authentication':
      return new SshError(SshErrorCode.AuthFailed, `${where}: the server refused the key or password; check the user and that the key is in its authorized_keys`, { details, cause: err });
    case 'client-timeout':
      return new SshError(SshErrorCode.Timeout, `${where}: no SSH handshake within the time allowed; is this an SSH port?`, { details, cause: err });
    case 'client-socket':
    case 'client-dns':
      return new SshError(SshErrorCode.Unreachable, `${where}: cannot connect (${err.code ?? err.message}); check the host, the port and any firewall`, { details, cause: err });
    default:
      return new SshError(SshErrorCode.Unreachable, `${where}: the SSH connection failed: ${err.message}`, { details, cause: err });
  }
}
