/** pullSqlite with the real sqlite3 and gzip behind a private sshd. */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../protocol/errors.ts';
import { startSshd, sshdUnavailable, type Sshd } from '../../test/sshd-fixture.ts';
import { pullSqlite } from './sqlite-pull.ts';
import { SourceErrorCode } from './source-errors.ts';
import { SshSession, type SshTarget } from './ssh-session.ts';

const exec = promisify(execFile);
const unavailable = sshdUnavailable();
if (unavailable) console.warn(`skipping SQLite pull tests: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('pullSqlite', () => {
  let sshd: Sshd;
  let target: SshTarget;
  let local: string;

  beforeAll(async () => {
    sshd = await startSshd();
    target = sshd.target;
    local = await mkdtemp(join(tmpdir(), 'ferry-sqlite-'));
    const rows = Array.from({ length: 2000 }, (_, i) => `insert into orders values (${i}, 'item ${i}', ${i * 3});`).join('\n');
    await exec('sqlite3', [join(sshd.dir, "shop's.db"), `create table orders(id integer primary key, name text, qty int);\n${rows}`]);
  });
  afterAll(async () => {
    await sshd?.stop();
    if (local) await rm(local, { recursive: true, force: true });
  });

  it('copies the database consistently, opens with the same rows, and leaves nothing behind on the site', async () => {
    const r = await pullSqlite({ target, remotePath: join(sshd.dir, "shop's.db"), into: join(local, 't') });
    expect(r.file).toBe(join(local, 't', "shop's.db"));
    expect((await stat(r.file)).mode & 0o777).toBe(0o600);
    const { stdout } = await exec('sqlite3', [r.file, 'select count(*), sum(qty) from orders; pragma integrity_check;']);
    expect(stdout.trim().split('\n')).toEqual(['2000|5997000', 'ok']);
    // The site's temporary directory is gone (and the site's mktemp does use sshd.tmp).
    expect(await readdir(sshd.tmp)).toEqual([]);
    const s = await SshSession.open(target);
    expect((await s.exec('mktemp -d')).stdout.toString()).toContain(sshd.tmp);
    await s.close();
  });

  it('names a database that is not there, and creates none', async () => {
    const missing = join(sshd.dir, 'nope.db');
    const err = await pullSqlite({ target, remotePath: missing, into: join(local, 'u') }).catch((e: unknown) => e);
    expect(hasCode(err, SourceErrorCode.MissingPath)).toBe(true);
    expect((err as Error).message).toContain(missing);
    await expect(stat(missing)).rejects.toThrow();
  });
});
