/**
 * `ferry site` and `ferry target` through the real CLI, its embedded NATS
 * and a private sshd: the host key pinned on first contact, credentials
 * sealed (no password or key anywhere on disk or in the output), clear
 * errors for a refused key, a forged host key and bad locations.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCliEnv, type CliEnv } from './cli-harness.ts';
import { startSshd, sshdUnavailable, type Sshd } from './sshd-fixture.ts';

const exec = promisify(execFile);
const unavailable = sshdUnavailable();
if (unavailable) console.warn(`skipping the site CLI tests: ${unavailable}`);

interface SiteView {
  name: string;
  address: string;
  auth: string;
  hostKeyFingerprint: string | null;
  health: string;
  targets: { hash: string; kind: string; location: string; overSsh: boolean }[];
}

const DB_PASSWORD = 'pg-s3cret-Zq9';

describe.skipIf(unavailable !== undefined)('ferry site and ferry target', () => {
  let sshd: Sshd;
  let t: CliEnv;
  let address: string[];

  beforeAll(async () => {
    sshd = await startSshd();
    t = await makeCliEnv('ferry-sites-');
    expect((await t.run(['init', '--kdf-memory', '8'])).code).toBe(0);
    address = ['--host', sshd.host, '--port', String(sshd.port), '--user', sshd.user];
  });
  afterAll(async () => {
    await t?.cleanup();
    await sshd?.stop();
  });

  it('adds a site, pins its host key on first contact, and keeps targets with passwords out of sight', async () => {
    const added = await t.json<SiteView & { schedule: { cron: string } }>(['site', 'add', 'web', ...address, '--key', sshd.keyFile, '--every', '6']);
    // Every 6 hours, at a minute and first hour spread by the site's uuid.
    expect(added.schedule.cron).toMatch(/^\d{1,2} (\d{1,2}),(\d{1,2}),(\d{1,2}),(\d{1,2}) \* \* \*$/);
    const schedules = await t.json<{ name: string; type: string; cron: string }[]>(['schedule', 'list']);
    expect(schedules).toMatchObject([{ name: 'site-web', type: 'site', cron: added.schedule.cron }]);
    expect(added).toMatchObject({ name: 'web', address: `${sshd.user}@${sshd.host}:${sshd.port}`, auth: 'key', health: 'unknown', hostKeyFingerprint: sshd.hostKeyFingerprint });

    const dir = await t.json<{ hash: string; location: string }>(['target', 'add', 'web', 'directory', '/var/www/']);
    expect(dir.location).toBe('/var/www');
    const db = await t.json<{ hash: string; location: string }>(['target', 'add', 'web', 'postgres', `postgres://app:${DB_PASSWORD}@127.0.0.1:5432/shop`, '--over-ssh']);
    expect(db.location).toBe('postgres://app@127.0.0.1:5432/shop');
    const again = await t.run(['target', 'add', 'web', 'directory', '/var/www']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already has this target/);

    const shown = await t.json<SiteView>(['site', 'show', 'web']);
    expect(shown.targets.map((x) => [x.kind, x.location, x.overSsh])).toEqual([
      ['directory', '/var/www', false],
      ['postgres', 'postgres://app@127.0.0.1:5432/shop', true],
    ]);
    expect((await t.json<SiteView[]>(['site', 'list'])).map((s) => s.name)).toEqual(['web']);

    // The key's body and the database password are nowhere in the state directory (NATS store, logs) in the clear.
    const keyLine = (await readFile(sshd.keyFile, 'utf8')).split('\n')[1]!;
    for (const secret of [DB_PASSWORD, keyLine]) {
      const found = await exec('grep', ['-rlF', secret, t.dir]).then((r) => r.stdout, () => '');
      expect(found).toBe('');
    }
    expect(((await readFile(join(t.dir, 'state', 'site-secrets.key'))).length)).toBe(32);

    const removed = await t.run(['target', 'remove', 'web', db.hash]);
    expect(removed.code, removed.stderr).toBe(0);
    expect((await t.json<SiteView>(['site', 'show', 'web'])).targets.map((x) => x.hash)).toEqual([dir.hash]);
  });

  it('refuses a second site of the same name, a refused key, a forged host key and bad locations, storing nothing', async () => {
    const dup = await t.run(['site', 'add', 'web', ...address, '--key', sshd.keyFile]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/a site named web exists already/);

    const refused = await t.run(['site', 'add', 'other', ...address, '--key', sshd.wrongKeyFile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refused the key or password/);

    const forged = await t.run(['site', 'add', 'other', ...address, '--key', sshd.keyFile, '--host-key', await readFile(`${sshd.wrongKeyFile}.pub`, 'utf8')]);
    expect(forged.code).toBe(1);
    expect(forged.stderr).toMatch(/is not the pinned/);

    const down = await t.run(['site', 'add', 'other', '--host', '127.0.0.1', '--port', '1', '--user', sshd.user, '--key', sshd.keyFile]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot connect \(ECONNREFUSED\)/);
    expect((await t.json<SiteView[]>(['site', 'list'])).map((s) => s.name)).toEqual(['web']);

    for (const [kind, location, why] of [
      ['directory', 'relative/path', /must be an absolute path/],
      ['mysql', 'postgres://x@h/db', /must start with mysql:\/\/ or mariadb:\/\//],
      ['postgres', 'postgres://u:pw@h', /names no database/],
      ['tarball', '/x', /KIND must be one of/],
    ] as const) {
      const r = await t.run(['target', 'add', 'web', kind, location]);
      expect(r.code, `${kind} ${location}`).toBe(2);
      expect(r.stderr).toMatch(why);
    }
    const none = await t.run(['site', 'show', 'nosuch']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no site nosuch/);
  });

  it('removes a site and frees its name', async () => {
    const r = await t.run(['site', 'remove', 'web']);
    expect(r.code, r.stderr).toBe(0);
    expect(await t.json<SiteView[]>(['site', 'list'])).toEqual([]);
    expect(await t.json<unknown[]>(['schedule', 'list'])).toEqual([]);
    const odd = await t.run(['site', 'add', 'web', ...address, '--key', sshd.keyFile, '--every', '5']);
    expect(odd.code).toBe(2);
    expect(odd.stderr).toMatch(/hours that divide a day/);
    const pw = join(t.dir, 'pw');
    await writeFile(pw, 'not-used\n', { mode: 0o600 });
    // The name is free again (and a password site is refused by this sshd, which takes keys only).
    const again = await t.run(['site', 'add', 'web', ...address, '--ssh-password-file', pw]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/refused the key or password/);
    expect(again.stderr).not.toContain('not-used');
    expect((await t.run(['site', 'add', 'web', ...address, '--key', sshd.keyFile])).code).toBe(0);
  });
});
