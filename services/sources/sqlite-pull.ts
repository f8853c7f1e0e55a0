/**
 * Pulls a consistent copy of a SQLite database from a site (a `sqlite`
 * target): the remote `sqlite3` takes an online backup (`.backup`, safe
 * while the application writes) into a private temporary directory, gzip
 * compresses it on the way out, and the copy is unpacked here into
 * `<into>/<file name>` (0600). The temporary directory is removed however
 * the pull ends.
 *
 * Rejects with an SshError for the connection, or a SourceError naming a
 * missing database (`source.missing-path`) or another failure.
 */
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { SshSession, type SshTarget } from './ssh-session.ts';
import { shellQuote } from './shell-quote.ts';
import { SourceError, SourceErrorCode } from './source-errors.ts';

export interface SqlitePull {
  readonly target: SshTarget;
  readonly remotePath: string;
  readonly into: string;
  readonly signal?: AbortSignal;
}

export async function pullSqlite(p: SqlitePull): Promise<{ file: string; bytes: number }> {
  const where = SshSession.where(p.target);
  await mkdir(p.into, { recursive: true, mode: 0o700 });
  const session = await SshSession.open(p.target);
  let tmp: string | undefined;
  try {
    const made = await session.exec('mktemp -d');
    tmp = made.stdout.toString().trim();
    if (made.code !== 0 || !tmp.startsWith('/')) throw new SourceError(SourceErrorCode.Failed, `${where}: cannot make a temporary directory: ${made.stderr.trim()}`);
    const copy = `${tmp}/backup.sqlite`;
    // -bail: stop at the first error; -readonly: a missing file is an error, not a new empty database.
    const backup = await session.exec(`sqlite3 -bail -readonly ${shellQuote(p.remotePath)} ${shellQuote(`.backup '${copy}'`)}`, { signal: p.signal });
    if (backup.code !== 0) {
      if (/unable to open database|no such file/i.test(backup.stderr)) {
        throw new SourceError(SourceErrorCode.MissingPath, `${where}: the SQLite database ${p.remotePath} cannot be opened: ${backup.stderr.trim()}`, { details: { path: p.remotePath } });
      }
      if (backup.code === 127) throw new SourceError(SourceErrorCode.MissingTool, `${where}: sqlite3 is not installed on the site`);
      throw new SourceError(SourceErrorCode.Failed, `${where}: sqlite3 .backup of ${p.remotePath} failed (exit ${backup.code}): ${backup.stderr.trim()}`);
    }
    const file = join(p.into, basename(p.remotePath));
    const part = `${file}.part`;
    const gunzip = createGunzip();
    const out = createWriteStream(part, { mode: 0o600 });
    const done = gunzip.pipe(out);
    const sent = await session.execTo(`gzip -c ${shellQuote(copy)}`, gunzip, { signal: p.signal });
    await new Promise<void>((resolve, reject) => (done.writableFinished ? resolve() : done.once('finish', resolve).once('error', reject)));
    if (sent.code !== 0) {
      await rm(part, { force: true });
      throw new SourceError(SourceErrorCode.Failed, `${where}: reading the copy of ${p.remotePath} failed (exit ${sent.code}): ${sent.stderr.trim()}`);
    }
    await chmod(part, 0o600);
    await rename(part, file);
    return { file, bytes: (await stat(file)).size };
  } finally {
    if (tmp?.startsWith('/')) await session.exec(`rm -rf ${shellQuote(tmp)}`).catch(() => {});
    await session.close();
  }
}
