/**
 * Database targets of a site, end to end against the machine's PostgreSQL
 * and MariaDB: a PostgreSQL database dumped from here and a MariaDB one
 * dumped on the site over SSH (with a password, sent on stdin) are backed
 * up, restored, and load into fresh databases with the same rows; the
 * password is nowhere in the clear afterwards.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCliEnv, type CliEnv } from './cli-harness.ts';
import { startSshd, sshdUnavailable, type Sshd } from './sshd-fixture.ts';

const exec = promisify(execFile);
const psql = (db: string, sql: string) => exec('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql]);
const mysql = (sql: string, db?: string) => exec('mysql', ['-h127.0.0.1', '-uroot', '-N', '-e', sql, ...(db ? [db] : [])]);

async function databasesUnavailable(): Promise<string | undefined> {
  const why = sshdUnavailable();
  if (why) return why;
  const pg = await psql('postgres', 'select 1').then(() => undefined, (e: Error) => `PostgreSQL on 127.0.0.1:5432 (user postgres, trust) is not reachable: ${e.message.split('\n')[0]}`);
  if (pg) return pg;
  return mysql('select 1').then(() => undefined, (e: Error) => `MariaDB on 127.0.0.1:3306 (root, no password) is not reachable: ${e.message.split('\n')[0]}`);
}

const unavailable = await databasesUnavailable();
if (unavailable) console.warn(`skipping the site database tests: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('site database targets', () => {
  const id = randomBytes(4).toString('hex');
  const src = `ferry_src_${id}`;
  const dst = `ferry_dst_${id}`;
  const user = `ferry_${id}`;
  const password = `P@ss w0rd;'${id}`;
  let sshd: Sshd;
  let t: CliEnv;

  beforeAll(async () => {
    sshd = await startSshd();
    t = await makeCliEnv('ferry-site-db-');
    expect((await t.run(['init', '--kdf-memory', '8'])).code).toBe(0);
    await psql('postgres', `create database ${src}`);
    await psql(src, "create table orders(id serial primary key, item text, qty int); insert into orders(item, qty) select 'item ' || g, g from generate_series(1, 500) g;");
    await mysql(`create database ${src}; create user '${user}'@'%' identified by '${password.replace(/'/g, "''")}'; grant all on ${src}.* to '${user}'@'%';`);
    await mysql("create table customers(id int primary key, name varchar(50)); insert into customers values (1, 'ada'), (2, 'grace'), (3, 'linus');", src);
    const addr = ['--host', sshd.host, '--port', String(sshd.port), '--user', sshd.user, '--key', sshd.keyFile, '--every', '0'];
    expect((await t.run(['site', 'add', 'db', ...addr])).code).toBe(0);
    expect((await t.run(['target', 'add', 'db', 'postgres', `postgres://postgres@127.0.0.1:5432/${src}`])).code).toBe(0);
    const added = await t.run(['target', 'add', 'db', 'mysql', `mysql://${user}:${encodeURIComponent(password)}@127.0.0.1:3306/${src}`, '--over-ssh']);
    expect(added.code, added.stderr).toBe(0);
  });
  afterAll(async () => {
    await t?.cleanup();
    await sshd?.stop();
    await psql('postgres', `drop database if exists ${src}`).catch(() => {});
    await psql('postgres', `drop database if exists ${dst}`).catch(() => {});
    await mysql(`drop database if exists ${src}; drop database if exists ${dst}; drop user if exists '${user}'@'%';`).catch(() => {});
  });

  it('dumps both, and the restored dumps load into fresh databases with the same rows', async () => {
    const r = await t.run(['site', 'run', 'db', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { snapshot: string };
    const site = await t.json<{ uuid: string; targets: { hash: string; kind: string }[] }>(['site', 'show', 'db']);
    const restored = join(t.dir, 'restored');
    expect((await t.run(['restore', out.snapshot, '--target', restored])).code).toBe(0);
    const staged = (kind: string) => join(restored, t.dir, 'state', 'staging', site.uuid, site.targets.find((x) => x.kind === kind)!.hash, `${src}.sql`);

    await psql('postgres', `create database ${dst}`);
    await exec('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', dst, '-v', 'ON_ERROR_STOP=1', '-q', '-f', staged('postgres')]);
    expect((await psql(dst, 'select count(*), sum(qty) from orders')).stdout.trim()).toBe('500|125250');

    await mysql(`create database ${dst}`);
    await exec('bash', ['-c', `mysql -h127.0.0.1 -uroot ${dst} < "$1"`, 'bash', staged('mysql')]);
    expect((await mysql('select group_concat(name order by id) from customers', dst)).stdout.trim()).toBe('ada,grace,linus');
  });

  it('keeps the database password out of everything it stored', async () => {
    for (const secret of [password, encodeURIComponent(password)]) {
      const found = await exec('grep', ['-rlF', secret, t.dir]).then((r) => r.stdout, () => '');
      expect(found).toBe('');
    }
  });

  it('names a database that does not exist, and the other targets still back up', async () => {
    expect((await t.run(['target', 'add', 'db', 'postgres', `postgres://postgres@127.0.0.1:5432/${src}_missing`])).code).toBe(0);
    const r = await t.run(['site', 'run', 'db', '--json']);
    expect(r.code).toBe(3);
    expect((JSON.parse(r.stdout) as { summary: { message: string } }).summary.message).toMatch(new RegExp(`database ${src}_missing does not exist`));
  });
});
