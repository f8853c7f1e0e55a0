/**
 * A WordPress site (a `wordpress` target): its files, pulled with rsync,
 * and its database, dumped on the site with the credentials its
 * `wp-config.php` names. Staged as `<into>/files/` (the mirror) and
 * `<into>/database/<name>.sql`.
 *
 * wp-config.php is PHP; only the plain `define('DB_…', '…')` forms are
 * read (what WordPress's installer writes). A config that computes them
 * is refused with a message saying so, rather than guessed.
 */
import { join } from 'node:path';
import { pullDirectory, type PullStats } from './rsync-pull.ts';
import { dumpDatabase } from './db-dump.ts';
import { SshSession, type SshTarget } from './ssh-session.ts';
import { shellQuote } from './shell-quote.ts';
import { SourceError, SourceErrorCode } from './source-errors.ts';

export interface WordPressDb {
  readonly name: string;
  readonly user: string;
  readonly password: string;
  readonly host: string;
  readonly port: number;
}

/** The DB_* constants of a wp-config.php, from `define('NAME', 'value')` lines. */
export function parseWpConfig(php: string, what: string): WordPressDb {
  const constant = (name: string): string | undefined => {
    const m = new RegExp(`define\\s*\\(\\s*['"]${name}['"]\\s*,\\s*(?:'((?:[^'\\\\]|\\\\.)*)'|"((?:[^"\\\\$]|\\\\.)*)")\\s*\\)`).exec(php);
    if (!m) return undefined;
    return (m[1] ?? m[2] ?? '').replace(/\\(.)/g, '$1');
  };
  const name = constant('DB_NAME');
  const user = constant('DB_USER');
  const password = constant('DB_PASSWORD');
  const hostSpec = constant('DB_HOST') ?? 'localhost';
  if (!name || user === undefined || password === undefined) {
    throw new SourceError(SourceErrorCode.Failed, `${what}: DB_NAME, DB_USER and DB_PASSWORD are not all plain define('…', '…') lines; back the database up as a mysql target instead`);
  }
  // DB_HOST may carry a port ("db:3307"); "localhost" means the local server, reached here over TCP.
  const [h, p] = hostSpec.split(':');
  const host = !h || h === 'localhost' ? '127.0.0.1' : h;
  const port = p && /^\d+$/.test(p) ? Number(p) : 3306;
  return { name, user, password, host, port };
}

export async function pullWordPress(p: { target: SshTarget; root: string; into: string; signal?: AbortSignal }): Promise<PullStats> {
  const where = SshSession.where(p.target);
  const configPath = `${p.root.replace(/\/+$/, '')}/wp-config.php`;
  const session = await SshSession.open(p.target);
  let config: string;
  try {
    const r = await session.exec(`cat ${shellQuote(configPath)}`, { maxOutputBytes: 1024 * 1024 });
    if (r.code !== 0) throw new SourceError(SourceErrorCode.MissingPath, `${where}: no readable ${configPath}: ${r.stderr.trim()}; point the target at the directory that holds wp-config.php`, { details: { path: configPath } });
    config = r.stdout.toString('utf8');
  } finally {
    await session.close();
  }
  const db = parseWpConfig(config, `${where}:${configPath}`);
  const files = await pullDirectory({ target: p.target, remotePath: p.root, into: join(p.into, 'files'), ...(p.signal ? { signal: p.signal } : {}) });
  const url = new URL('mysql://x');
  url.hostname = db.host;
  url.port = String(db.port);
  url.username = encodeURIComponent(db.user);
  url.password = encodeURIComponent(db.password);
  url.pathname = `/${encodeURIComponent(db.name)}`;
  await dumpDatabase({ kind: 'mysql', url: url.toString(), overSsh: true, ssh: p.target, into: join(p.into, 'database'), ...(p.signal ? { signal: p.signal } : {}) });
  return files;
}
