/**
 * Pulls a directory from an FTP server (an `ftp` target: seed 004's "files
 * only" sources) into a staging mirror, as the rsync and SFTP pulls do:
 * a file is fetched again only when its size or modification time differs
 * from the staged copy, and staged entries the server no longer lists are
 * removed.
 *
 * Times: a file's mtime is the server's exact time, from the MLSD listing
 * when the server has one, else from MDTM (RFC 3659, UTC to the
 * millisecond where the server gives it); LIST's "Jan 02 2020" is never
 * trusted. A server with neither gives no time, so its files are fetched
 * on every pull and keep the time of the pull.
 *
 * Modes: FTP reports no reliable ownership or mode, so staged files are
 * 0600 and directories 0700 (the staging rule), and a symbolic link the
 * listing shows is recreated with the target it names.
 *
 * Contract: a missing or unreadable root is `source.missing-path`, a
 * refused login `source.auth-failed`, an untrusted TLS certificate
 * `source.untrusted`, a server that does not answer `source.unreachable`;
 * an entry that cannot be read, or whose name could escape the staging
 * directory, makes the pull `partial` with a warning naming it. Messages
 * name the server as `ftp://user@host:port` and never the password.
 */
import { createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir, rename, rm, symlink, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Client, FileType, type FileInfo } from 'basic-ftp';
import { SourceError, SourceErrorCode } from './source-errors.ts';
import type { PullStats } from './rsync-pull.ts';

/** Control and data connections give up after this long without progress. */
const IDLE_TIMEOUT_MS = 30_000;

export interface FtpLocation {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** `ftps:`: explicit TLS (AUTH TLS), the certificate checked against the system's CAs and NODE_EXTRA_CA_CERTS. */
  readonly secure: boolean;
  /** The directory to pull, as RFC 1738 reads the URL: relative to the login directory unless it starts with `/` (`ftp://h//srv` or `ftp://h/%2Fsrv`); '' is the login directory. */
  readonly path: string;
  /** `ftp://user@host:port`, for messages. */
  readonly where: string;
}

export function ftpLocation(url: string): FtpLocation {
  const u = new URL(url);
  if (u.protocol !== 'ftp:' && u.protocol !== 'ftps:') throw new SourceError(SourceErrorCode.MissingPath, `${u.protocol}// is not an FTP URL`);
  const port = u.port ? Number(u.port) : 21;
  const user = u.username ? decodeURIComponent(u.username) : 'anonymous';
  const segments = u.pathname.split('/').slice(1).map(decodeURIComponent);
  const path = segments.join('/').replace(/(.)\/+$/, '$1');
  return {
    host: u.hostname, port, user,
    password: u.password ? decodeURIComponent(u.password) : '',
    secure: u.protocol === 'ftps:', path,
    where: `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}`,
  };
}

const TLS_REFUSALS = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID']);
const NO_ANSWER = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE']);

/** An FTP client's failure as a SourceError; `reply` is the FTP reply code, if the server sent one. */
function classify(err: unknown, loc: FtpLocation, doing: string): SourceError {
  const e = err as Error & { code?: number | string };
  const text = e.message.replace(/\s+/g, ' ').trim();
  if (e.code === 530) return new SourceError(SourceErrorCode.AuthFailed, `${loc.where}: the server refused the login of ${loc.user} (${text}); check the user and password in the target's URL`, { cause: err });
  if (typeof e.code === 'string' && TLS_REFUSALS.has(e.code)) {
    return new SourceError(SourceErrorCode.Untrusted, `${loc.where}: the server's TLS certificate is not trusted (${e.code}); give its CA to the worker with NODE_EXTRA_CA_CERTS`, { cause: err });
  }
  if ((typeof e.code === 'string' && NO_ANSWER.has(e.code)) || /^Timeout/i.test(e.message)) {
    return new SourceError(SourceErrorCode.Unreachable, `${loc.where} did not answer while ${doing} (${text}); check the host, the port and the firewall`, { cause: err });
  }
  return new SourceError(SourceErrorCode.Failed, `${loc.where}: ${doing} failed: ${text}`, { cause: err });
}

/** Logs in and enters the target's directory; returns the client and that directory's absolute path. */
async function openAt(loc: FtpLocation): Promise<{ client: Client; root: string }> {
  const client = new Client(IDLE_TIMEOUT_MS);
  try {
    await client.access({ host: loc.host, port: loc.port, user: loc.user, password: loc.password, secure: loc.secure }).catch((err: unknown) => {
      throw classify(err, loc, 'logging in');
    });
    if (loc.path !== '') {
      await client.cd(loc.path).catch((err: { code?: unknown }) => {
        // 5xx: the server says the path is not there (or not a directory it lets us enter).
        if (typeof err.code === 'number' && err.code >= 500) throw new SourceError(SourceErrorCode.MissingPath, `${loc.where}: ${loc.path} does not exist on the server or is not a directory the login can enter`, { details: { path: loc.path }, cause: err });
        throw classify(err, loc, `entering ${loc.path}`);
      });
    }
    return { client, root: await client.pwd() };
  } catch (err) {
    client.close();
    throw err instanceof SourceError ? err : classify(err, loc, 'logging in');
  }
}

/** Preflight: the login works and the target's directory can be entered. Throws as pullFtp does. */
export async function probeFtp(url: string): Promise<void> {
  const { client } = await openAt(ftpLocation(url));
  client.close();
}

/** A listed name we may create in the staging directory: not empty, not `.`/`..`, no separator. */
const safeName = (name: string) => name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');

export async function pullFtp(p: { url: string; into: string; signal?: AbortSignal }): Promise<PullStats> {
  const loc = ftpLocation(p.url);
  const { client, root } = await openAt(loc);
  const onAbort = () => client.close();
  p.signal?.addEventListener('abort', onAbort, { once: true });
  const warnings: string[] = [];
  let filesTransferred = 0;
  let totalBytes = 0;
  try {
    const mdtm = (await client.features()).has('MDTM');
    const timeOf = async (f: FileInfo): Promise<Date | undefined> => f.modifiedAt ?? (mdtm ? await client.lastMod(f.name) : undefined);
    await mkdir(p.into, { recursive: true, mode: 0o700 });

    const mirror = async (remote: string, local: string): Promise<void> => {
      p.signal?.throwIfAborted();
      let list: FileInfo[];
      try {
        // Entered, then listed without an argument: servers disagree on how LIST parses a path.
        await client.cd(remote);
        list = await client.list();
      } catch (err) {
        if (client.closed) throw classify(err, loc, `listing ${remote}`);
        warnings.push(`${remote}: ${(err as Error).message}`);
        return;
      }
      const entries = list.filter((f) => {
        if (safeName(f.name)) return true;
        warnings.push(`${posix.join(remote, f.name)}: a name that cannot be a file here, skipped`);
        return false;
      });
      const names = new Set(entries.map((f) => f.name));
      for (const name of await readdir(local)) if (!names.has(name)) await rm(join(local, name), { recursive: true, force: true });
      const dirs: string[] = [];
      for (const f of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const r = posix.join(remote, f.name);
        const l = join(local, f.name);
        const have = await lstat(l).catch(() => undefined);
        try {
          if (f.type === FileType.Directory) {
            if (have && !have.isDirectory()) await rm(l, { recursive: true, force: true });
            await mkdir(l, { recursive: true, mode: 0o700 });
            dirs.push(f.name);
          } else if (f.type === FileType.SymbolicLink && f.link) {
            if (have) await rm(l, { recursive: true, force: true });
            await symlink(f.link, l);
          } else if (f.type === FileType.File) {
            const mtime = await timeOf(f);
            const same = have?.isFile() && have.size === f.size && mtime !== undefined && Math.round(have.mtimeMs) === mtime.getTime();
            if (!same) {
              if (have && !have.isFile()) await rm(l, { recursive: true, force: true });
              const part = join(local, `.${f.name}.ferry-part`);
              await client.downloadTo(createWriteStream(part, { mode: 0o600 }), f.name);
              await chmod(part, 0o600);
              await rename(part, l);
              if (mtime) await utimes(l, mtime, mtime);
              filesTransferred++;
            }
            totalBytes += f.size;
          } else {
            warnings.push(`${r}: the server lists it as neither a file, a directory nor a link, skipped`);
          }
        } catch (err) {
          if (p.signal?.aborted || client.closed) throw classify(err, loc, `fetching ${r}`);
          warnings.push(`${r}: ${(err as Error).message}`);
        }
      }
      for (const name of dirs) await mirror(posix.join(remote, name), join(local, name));
    };
    await mirror(root, p.into);
  } catch (err) {
    if (p.signal?.aborted) throw p.signal.reason;
    throw err instanceof SourceError ? err : classify(err, loc, 'pulling');
  } finally {
    p.signal?.removeEventListener('abort', onAbort);
    client.close();
  }
  return { filesTransferred, totalBytes, partial: warnings.length > 0, warnings };
}
