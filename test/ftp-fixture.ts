/**
 * A real FTP server (ftp-srv) on loopback for tests of FTP pulls: one user,
 * chrooted to a directory, passive mode on loopback. It has no MLSD, so a
 * client gets exact times only from MDTM, as from many small servers.
 * With `tls`, it offers explicit TLS (AUTH TLS) with a self-signed
 * certificate made for 127.0.0.1 (`caFile` is what a client must trust).
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { createSecureContext, TLSSocket, type SecureContextOptions } from 'node:tls';
import type { Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FtpSrv } from 'ftp-srv';
import { freePorts } from '../services/nats/server-config.ts';

const HOST = '127.0.0.1';

interface FtpSrvConnection {
  commandSocket: Socket;
  secure: boolean;
  server: { options: { tls?: SecureContextOptions | false } };
  reply(code: number): Promise<void>;
}

/**
 * ftp-srv 4.6.3 answers AUTH TLS with 234 and wraps the control socket in
 * TLS only once that reply's write has called back; a client's TLS hello
 * arriving in between is read as a command, and the plain-text error it
 * gets back breaks the client's handshake ("wrong version number", seen
 * about once in 40 runs on a loaded machine). This handler writes 234 and
 * wraps the socket in one synchronous step, so no read can come between.
 */
function raceFreeAuthTls(this: FtpSrvConnection, { command }: { command: { arg?: string } }) {
  if ((command.arg ?? '').toUpperCase() !== 'TLS') return this.reply(504);
  if (!this.server.options.tls) return this.reply(502);
  if (this.secure) return this.reply(202);
  const plain = this.commandSocket;
  plain.write('234 AUTH TLS accepted\r\n');
  const secure = new TLSSocket(plain, { isServer: true, secureContext: createSecureContext(this.server.options.tls) });
  // ftp-srv listens on the socket it was given: hand it what the TLS socket reads.
  for (const event of ['data', 'timeout', 'end', 'close', 'drain', 'error']) secure.on(event, (...args: unknown[]) => plain.emit(event, ...args));
  this.commandSocket = secure;
  this.secure = true;
  return Promise.resolve();
}
const registry = createRequire(import.meta.url)('ftp-srv/src/commands/registry') as Record<string, { handler: unknown; flags?: Record<string, unknown>; directive?: string }>;
registry.AUTH!.handler = raceFreeAuthTls;

interface ListingConnection {
  fs: { list(path: string): Promise<{ name: string; size: number; mtime: Date; isDirectory(): boolean }[]> };
  connector: { waitForConnection(): Promise<unknown>; socket: unknown; end(): void };
  commandSocket: { pause(): void; resume(): void };
  reply(options: unknown, ...letters: unknown[]): Promise<void>;
}

const mlsdTime = (d: Date) => d.toISOString().replace(/[-:T]/g, '').replace('Z', '');

/** MLSD (RFC 3659), which ftp-srv lacks: facts type, size and modify (UTC, to the millisecond) per entry. */
async function mlsd(this: ListingConnection, { command }: { command: { arg?: string } }) {
  await this.connector.waitForConnection();
  this.commandSocket.pause();
  try {
    const files = await this.fs.list(command.arg || '.');
    const lines = files.map((f) => ({ raw: true, socket: this.connector.socket, message: `type=${f.isDirectory() ? 'dir' : 'file'};size=${f.size};modify=${mlsdTime(f.mtime)}; ${f.name}` }));
    await this.reply(150);
    if (lines.length) await this.reply({}, ...lines);
    else await this.reply({ socket: this.connector.socket, useEmptyMessage: true });
    await this.reply(226);
  } catch (err) {
    await this.reply(451, (err as Error).message);
  } finally {
    this.connector.end();
    this.commandSocket.resume();
  }
}

/**
 * Makes every server of this process offer MLSD (and FEAT MLST), or stop
 * offering MDTM: how the tests reach the other ways a server gives times.
 * Process-wide (ftp-srv's command registry is shared): call it only in a
 * test file of its own.
 */
export function ftpServerFeatures(opts: { mlsd?: boolean; mdtm?: boolean }): void {
  if (opts.mlsd) registry.MLSD = { directive: 'MLSD', handler: mlsd, flags: { feat: 'MLST type*;size*;modify*;' } };
  if (opts.mlsd === false) delete registry.MLSD;
  if (opts.mdtm === false) delete registry.MDTM;
}

/** ftp-srv logs through a bunyan-shaped logger; the tests read their own assertions, not its chatter. */
const quiet = { child: () => quiet, trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {} };

export interface FtpServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** `ftp://` (or `ftps://`) with user and password, URL-encoded, and no path: the login directory. */
  readonly url: string;
  /** The self-signed certificate a client must trust, with `tls`. */
  readonly caFile?: string | undefined;
  /** Stops the server; safe to call twice. */
  stop(): Promise<void>;
}

export async function startFtpServer(opts: { root: string; user?: string; password?: string; tls?: boolean }): Promise<FtpServer> {
  const user = opts.user ?? 'backup';
  const password = opts.password ?? 'p@ss: w0rd/;';
  const [port, pasv] = await freePorts(2, HOST);
  let certDir: string | undefined;
  let tls: { key: Buffer; cert: Buffer } | undefined;
  if (opts.tls) {
    certDir = mkdtempSync(join(tmpdir(), 'ferry-ftp-cert-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${HOST}`,
      '-addext', `subjectAltName=IP:${HOST}`, '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')], { stdio: 'ignore' });
    tls = { key: readFileSync(join(certDir, 'key.pem')), cert: readFileSync(join(certDir, 'cert.pem')) };
  }
  // Passive data connections take ports from a small range starting at a port that was free.
  const server = new FtpSrv({
    url: `ftp://${HOST}:${port}`, pasv_url: HOST, pasv_min: pasv!, pasv_max: pasv! + 50, greeting: 'ferry test server',
    log: quiet,
    ...(tls ? { tls } : {}),
  });
  server.on('login', ({ username, password: given }: { username: string; password: string }, resolve: (v: { root: string }) => void, reject: (e: Error) => void) => {
    if (username === user && given === password) resolve({ root: opts.root });
    else reject(new Error('login incorrect'));
  });
  await server.listen();
  let stopped = false;
  const scheme = tls ? 'ftps' : 'ftp';
  return {
    host: HOST, port: port!, user, password,
    url: `${scheme}://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${HOST}:${port}`,
    caFile: certDir ? join(certDir, 'cert.pem') : undefined,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close().catch(() => {});
      if (certDir) rmSync(certDir, { recursive: true, force: true });
    },
  };
}
