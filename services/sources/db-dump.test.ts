/** dumpDatabase's other two paths: pg_dump on the site over SSH, and mysqldump from here with a password. */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../protocol/errors.ts';
import { startSshd, sshdUnavailable, type Sshd } from '../../test/sshd-fixture.ts';
import { dumpDatabase } from './db-dump.ts';
import { SourceErrorCode } from './source-errors.ts';

const exec = promisify(execFile);
const psql = (db: string, sql: string) => exec('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql]);
const mysql = (sql: string) => exec('mysql', ['-h127.0.0.1', '-uroot', '-N', '-e', sql]);
const why = sshdUnavailable()
  ?? (await psql('postgres', 'select 1').then(() => undefined, () => 'PostgreSQL on 127.0.0.1:5432 is not reachable'))
  ?? (await mysql('select 1').then(() => undefined, () => 'MariaDB on 127.0.0.1:3306 is not reachable'));
if (why) console.warn(`skipping database dump tests: ${why}`);

describe.skipIf(why !== undefined)('dumpDatabase', () => {
  const id = randomBytes(4).toString('hex');
  const db = `ferry_dump_${id}`;
  const user = `ferry_d_${id}`;
  const password = `s3cret-${id}`;
  let sshd: Sshd;
  let dir: string;

  beforeAll(async () => {
    sshd = await startSshd();
    dir = await mkdtemp(join(tmpdir(), 'ferry-dump-'));
    await psql('postgres', `create database ${db}`);
    await psql(db, "create table t(x int); insert into t values (42);");
    await mysql(`create database ${db}; create table ${db}.t(x int); insert into ${db}.t values (7); create user '${user}'@'%' identified by '${password}'; grant all on ${db}.* to '${user}'@'%';`);
  });
  afterAll(async () => {
    await sshd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    await psql('postgres', `drop database if exists ${db}`).catch(() => {});
    await mysql(`drop database if exists ${db}; drop user if exists '${user}'@'%';`).catch(() => {});
  });

  it('runs pg_dump on the site over SSH and streams the dump back (0600), leaving nothing on the site', async () => {
    const r = await dumpDatabase({ kind: 'postgres', url: `postgres://postgres@127.0.0.1:5432/${db}`, overSsh: true, ssh: sshd.target, into: join(dir, 'pg') });
    expect((await stat(r.file)).mode & 0o777).toBe(0o600);
    expect(await readFile(r.file, 'utf8')).toMatch(/COPY public\.t \(x\) FROM stdin;\n42\n/);
  });

  it('runs mysqldump here with the password in its environment only, and names a refused login', async () => {
    const r = await dumpDatabase({ kind: 'mysql', url: `mysql://${user}:${password}@127.0.0.1:3306/${db}`, overSsh: false, into: join(dir, 'my') });
    expect(await readFile(r.file, 'utf8')).toMatch(/INSERT INTO `t` VALUES\s*\(7\)/);
    const refused = await dumpDatabase({ kind: 'mysql', url: `mysql://${user}:wrong@127.0.0.1:3306/${db}`, overSsh: false, into: join(dir, 'no') }).catch((e: unknown) => e);
    expect(hasCode(refused, SourceErrorCode.Failed)).toBe(true);
    expect((refused as Error).message).toMatch(/Access denied/);
    expect((refused as Error).message).not.toContain('wrong@');
  });
});
