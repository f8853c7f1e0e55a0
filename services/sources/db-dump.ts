/**
 * Dumps a PostgreSQL or MySQL/MariaDB database (`postgres` and `mysql`
 * targets) to `<into>/<database>.sql` (0600): with `pg_dump` or
 * `mysqldump` here, connecting to the database directly, or on the site
 * over SSH (`overSsh`), where the dump is streamed back and never written
 * to the site's disk.
 *
 * The password never appears on a command line, here or on the site (where
 * `ps` would show it): it reaches the dump tool through its environment
 * (PGPASSWORD, MYSQL_PWD), which only the same user can read, and over SSH
 * through the command's standard input.
 *
 * Rejects with a SourceError naming a missing database, a missing tool, or
 * the tool's own complaint, or an SshError for the connection.
 */
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SshSession, type SshTarget } from './ssh-session.ts';
import { shellQuote } from './shell-quote.ts';
import { SourceError, SourceErrorCode } from './source-errors.ts';
import { runTool } from './run-tool.ts';

export interface DatabaseDump {
  readonly kind: 'postgres' | 'mysql';
  /** The database URL, with its password if it has one. */
  readonly url: string;
  /** Dump on the site (over `ssh`) instead of connecting from here. */
  readonly overSsh: boolean;
  readonly ssh?: SshTarget | undefined;
  readonly into: string;
  readonly signal?: AbortSignal;
}

interface Command {
  readonly tool: string;
  readonly args: string[];
  readonly passwordVar: string;
  readonly password: string;
  readonly database: string;
}

function command(kind: DatabaseDump['kind'], url: string): Command {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  const user = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  if (kind === 'postgres') {
    const args = ['--no-password', '--format=plain', '-h', u.hostname || '127.0.0.1', '-p', u.port || '5432', ...(user ? ['-U', user] : []), '-d', database];
    return { tool: 'pg_dump', args, passwordVar: 'PGPASSWORD', password, database };
  }
  // One consistent snapshot of InnoDB tables without locking writers out; routines and triggers too.
  const args = ['--single-transaction', '--routines', '--triggers', '--hex-blob', '-h', u.hostname || '127.0.0.1', '-P', u.port || '3306', ...(user ? ['-u', user] : []), database];
  return { tool: 'mysqldump', args, passwordVar: 'MYSQL_PWD', password, database };
}

function failure(c: Command, where: string, code: number, stderr: string): SourceError {
  const said = stderr.trim().split('\n').slice(-3).join(' | ');
  if (code === 127 || /command not found|not found$/m.test(stderr)) return new SourceError(SourceErrorCode.MissingTool, `${where}: ${c.tool} is not installed`);
  if (/database "[^"]*" does not exist|Unknown database/.test(stderr)) {
    return new SourceError(SourceErrorCode.MissingPath, `${where}: database ${c.database} does not exist: ${said}`, { details: { database: c.database } });
  }
  return new SourceError(SourceErrorCode.Failed, `${where}: ${c.tool} of ${c.database} failed (exit ${code}): ${said || 'no message'}`, { details: { database: c.database } });
}


export async function dumpDatabase(p: DatabaseDump): Promise<{ file: string; bytes: number }> {
  const c = command(p.kind, p.url);
  await mkdir(p.into, { recursive: true, mode: 0o700 });
  const file = join(p.into, `${c.database.replace(/[/\0]/g, '_')}.sql`);
  const part = `${file}.part`;
  const out = createWriteStream(part, { mode: 0o600 });
  const written = new Promise<void>((resolve, reject) => out.once('finish', resolve).once('error', reject));
  let result: { code: number; stderr: string };
  let where: string;
  try {
    if (p.overSsh) {
      if (!p.ssh) throw new SourceError(SourceErrorCode.Failed, `${p.kind} target over SSH without a site to reach`);
      where = SshSession.where(p.ssh);
      const session = await SshSession.open(p.ssh);
      try {
        const line = `${c.tool} ${c.args.map(shellQuote).join(' ')}`;
        const cmd = c.password ? `IFS= read -r ${c.passwordVar} && export ${c.passwordVar} && exec ${line}` : `exec ${line}`;
        result = await session.execTo(cmd, out, { ...(p.signal ? { signal: p.signal } : {}), ...(c.password ? { stdin: `${c.password}\n` } : {}) });
      } finally {
        await session.close();
      }
    } else {
      where = 'this worker';
      result = await runTool(c.tool, c.args, { env: { ...process.env, ...(c.password ? { [c.passwordVar]: c.password } : {}) }, stdout: out, ...(p.signal ? { signal: p.signal } : {}) });
    }
    await written;
  } catch (err) {
    out.destroy();
    await rm(part, { force: true });
    throw err;
  }
  if (result.code !== 0) {
    await rm(part, { force: true });
    throw failure(c, where, result.code, result.stderr);
  }
  await chmod(part, 0o600);
  await rename(part, file);
  return { file, bytes: (await stat(file)).size };
}
