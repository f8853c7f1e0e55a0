/**
 * A WordPress target end to end: wp-config.php names a MariaDB database
 * (user with a password); the site backup holds the WordPress files and a
 * dump of that database, which restore and load with the same rows.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCliEnv, type CliEnv } from './cli-harness.ts';
import { startSshd, sshdUnavailable, type Sshd } from './sshd-fixture.ts';

const exec = promisify(execFile);
const mysql = (sql: string, db?: string) => exec('mysql', ['-h127.0.0.1', '-uroot', '-N', '-e', sql, ...(db ? [db] : [])]);
const why = sshdUnavailable() ?? (await mysql('select 1').then(() => undefined, () => 'MariaDB on 127.0.0.1:3306 (root, no password) is not reachable'));
if (why) console.warn(`skipping the WordPress target test: ${why}`);

describe.skipIf(why !== undefined)('wordpress target', () => {
  const id = randomBytes(4).toString('hex');
  const db = `ferry_wp_${id}`;
  const copy = `ferry_wpr_${id}`;
  const user = `ferry_wpu_${id}`;
  const password = `wp'pass-${id}`;
  let sshd: Sshd;
  let t: CliEnv;
  let wp: string;

  beforeAll(async () => {
    sshd = await startSshd();
    t = await makeCliEnv('ferry-site-wp-');
    expect((await t.run(['init', '--kdf-memory', '8'])).code).toBe(0);
    await mysql(`create database ${db}; create user '${user}'@'%' identified by '${password.replace(/'/g, "''")}'; grant all on ${db}.* to '${user}'@'%';`);
    await mysql("create table wp_posts(ID int primary key, post_title text); insert into wp_posts values (1, 'Hello world!'), (2, 'Sample Page');", db);
    wp = join(sshd.dir, 'var', 'www', 'blog');
    await mkdir(join(wp, 'wp-content', 'uploads', '2026'), { recursive: true });
    await writeFile(join(wp, 'index.php'), "<?php require __DIR__ . '/wp-blog-header.php';\n");
    await writeFile(join(wp, 'wp-content', 'uploads', '2026', 'cat.jpg'), randomBytes(50_000));
    await writeFile(join(wp, 'wp-config.php'), [
      '<?php',
      `define( 'DB_NAME', '${db}' );`,
      `define( 'DB_USER', '${user}' );`,
      `define( 'DB_PASSWORD', '${password.replace(/'/g, "\\'")}' );`,
      "define( 'DB_HOST', 'localhost:3306' );",
      "$table_prefix = 'wp_';",
      '',
    ].join('\n'));
    const addr = ['--host', sshd.host, '--port', String(sshd.port), '--user', sshd.user, '--key', sshd.keyFile, '--every', '0'];
    expect((await t.run(['site', 'add', 'blog', ...addr])).code).toBe(0);
    expect((await t.run(['target', 'add', 'blog', 'wordpress', wp])).code).toBe(0);
  });
  afterAll(async () => {
    await t?.cleanup();
    await sshd?.stop();
    await mysql(`drop database if exists ${db}; drop database if exists ${copy}; drop user if exists '${user}'@'%';`).catch(() => {});
  });

  it('backs up the files and the database wp-config.php names, and both restore', async () => {
    const pre = await t.run(['site', 'run', 'blog', '--job', 'preflight']);
    expect(pre.code, pre.stderr).toBe(0);
    const r = await t.run(['site', 'run', 'blog', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const snapshot = (JSON.parse(r.stdout) as { snapshot: string }).snapshot;
    const site = await t.json<{ uuid: string; targets: { hash: string }[] }>(['site', 'show', 'blog']);
    const restored = join(t.dir, 'restored');
    expect((await t.run(['restore', snapshot, '--target', restored])).code).toBe(0);
    const staged = join(restored, t.dir, 'state', 'staging', site.uuid, site.targets[0]!.hash);
    await exec('diff', ['-r', wp, join(staged, 'files')]);
    await mysql(`create database ${copy}`);
    await exec('bash', ['-c', `mysql -h127.0.0.1 -uroot ${copy} < "$1"`, 'bash', join(staged, 'database', `${db}.sql`)]);
    expect((await mysql('select group_concat(post_title order by ID) from wp_posts', copy)).stdout.trim()).toBe('Hello world!,Sample Page');
  });
});
