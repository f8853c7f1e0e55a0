/**
 * An FTP source end to end, through the CLI: a site with no SSH login and
 * an `ftp` target on a real ftp-srv is preflighted, backed up and
 * restored, and the restored files are the server's, with the times its
 * MDTM gave. A wrong password fails preflight naming the cause; an
 * `ftps` server is trusted through NODE_EXTRA_CA_CERTS and refused
 * without it; the password is nowhere under the state directory.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCliEnv, type CliEnv } from './cli-harness.ts';
import { startFtpServer, type FtpServer } from './ftp-fixture.ts';

const exec = promisify(execFile);

interface Shown {
  uuid: string;
  address: string | null;
  targets: { hash: string; kind: string; location: string }[];
}
interface RunOut {
  state: string;
  snapshot: string | null;
  summary: { targets: number; failedTargets: string[]; message?: string };
}

/** Every regular file under `root` with its mtime in whole milliseconds, by path relative to root. */
async function fileTimes(root: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    out.set(relative(root, path), (await stat(path)).mtime.getTime());
  }
  return out;
}

describe('FTP site', () => {
  let ftp: FtpServer;
  let secure: FtpServer;
  let t: CliEnv;
  let remote: string;

  beforeAll(async () => {
    remote = await mkdtemp(join(tmpdir(), 'ferry-ftp-site-'));
    const www = join(remote, 'www');
    await mkdir(join(www, 'assets', 'img'), { recursive: true });
    await writeFile(join(www, 'index.html'), '<h1>shop</h1>\n');
    await writeFile(join(www, 'price list (2026).csv'), 'sku,price\n1,9.99\n');
    await writeFile(join(www, 'assets', 'img', 'logo.png'), Buffer.alloc(700_000, 3));
    await writeFile(join(www, 'assets', 'site.css'), 'body{}\n');
    await utimes(join(www, 'index.html'), new Date('2024-02-29T12:00:00.123Z'), new Date('2024-02-29T12:00:00.123Z'));
    await utimes(join(www, 'assets', 'site.css'), new Date('2001-09-09T01:46:40.000Z'), new Date('2001-09-09T01:46:40.000Z'));
    ftp = await startFtpServer({ root: remote });
    secure = await startFtpServer({ root: remote, tls: true });
    t = await makeCliEnv('ferry-site-ftp-');
    expect((await t.run(['init', '--kdf-memory', '8'])).code).toBe(0);
    expect((await t.run(['site', 'add', 'shop', '--every', '0'])).code).toBe(0);
    expect((await t.run(['target', 'add', 'shop', 'ftp', `${ftp.url}/www`])).code).toBe(0);
  });
  afterAll(async () => {
    await t?.cleanup();
    await ftp?.stop();
    await secure?.stop();
    await rm(remote, { recursive: true, force: true });
  });

  it('backs the FTP directory up and restores it identically, with the times MDTM gave', async () => {
    const site = await t.json<Shown>(['site', 'show', 'shop']);
    expect(site.address).toBeNull();
    const pre = await t.run(['site', 'run', 'shop', '--job', 'preflight']);
    expect(pre.code, pre.stderr).toBe(0);

    const out = await t.json<RunOut>(['site', 'run', 'shop', '--job', 'backup']);
    expect(out).toMatchObject({ state: 'success', summary: { targets: 1, failedTargets: [] } });
    const restored = join(t.dir, 'restored');
    const r = await t.run(['restore', out.snapshot!, '--target', restored]);
    expect(r.code, r.stderr).toBe(0);
    const got = join(restored, t.dir, 'state', 'staging', site.uuid, site.targets[0]!.hash);
    await exec('diff', ['-r', join(remote, 'www'), got]);
    const want = await fileTimes(join(remote, 'www'));
    expect(want.size).toBe(4);
    expect(await fileTimes(got)).toEqual(want);
    expect(want.get('index.html')).toBe(Date.parse('2024-02-29T12:00:00.123Z'));
  });

  it('refuses what needs a shell on a site without SSH, and fails preflight on a wrong password naming the cause', async () => {
    const dir = await t.run(['target', 'add', 'shop', 'directory', '/srv']);
    expect(dir.code).toBe(2);
    expect(dir.stderr).toMatch(/site shop has no SSH login .* a directory target needs one/);

    expect((await t.run(['site', 'add', 'locked', '--every', '0'])).code).toBe(0);
    expect((await t.run(['target', 'add', 'locked', 'ftp', `ftp://${ftp.user}:wrong-one@${ftp.host}:${ftp.port}/www`])).code).toBe(0);
    const pre = await t.run(['site', 'run', 'locked', '--job', 'preflight']);
    expect(pre.code).not.toBe(0);
    expect(pre.stderr).toMatch(new RegExp(`refused the login of ${ftp.user}`));
    expect(pre.stderr).not.toContain('wrong-one');
    expect((await t.json<{ name: string; health: string }[]>(['site', 'status'])).find((x) => x.name === 'locked')?.health).toBe('failed');
  });

  it('pulls from an ftps server whose CA the worker is given, and names the certificate when it is not', async () => {
    expect((await t.run(['site', 'add', 'vault', '--every', '0'])).code).toBe(0);
    expect((await t.run(['target', 'add', 'vault', 'ftp', `${secure.url}/www`])).code).toBe(0);
    const untrusted = await t.run(['site', 'run', 'vault', '--job', 'preflight']);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.stderr).toMatch(/TLS certificate is not trusted .*NODE_EXTRA_CA_CERTS/);

    const r = await t.run(['site', 'run', 'vault', '--job', 'backup', '--json'], { env: { NODE_EXTRA_CA_CERTS: secure.caFile } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ state: 'success', summary: { failedTargets: [] } });
  });

  it('keeps the snapshots of a site by its retention policy: ferry site run --job retention forgets and prunes', async () => {
    await writeFile(join(remote, 'www', 'index.html'), '<h1>shop, second edition</h1>\n');
    expect((await t.run(['site', 'run', 'shop', '--job', 'backup'])).code).toBe(0);
    const before = (await t.json<{ source: string }[]>(['snapshots'])).filter((x) => x.source === 'site-shop').length;
    expect(before).toBeGreaterThanOrEqual(2);
    expect((await t.run(['retention', 'set', '--site', 'shop', '--keep-last', '1'])).code).toBe(0);
    const r = await t.run(['site', 'run', 'shop', '--job', 'retention', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ state: 'success', summary: { removedSnapshots: before - 1 } });
    expect((await t.json<{ source: string }[]>(['snapshots'])).filter((x) => x.source === 'site-shop').length).toBe(1);
  });

  it('syncs the repository to a copy as a job, and site status shows each copy\'s state: last success, lag, error', async () => {
    const copy = join(t.dir, 'copy');
    const r = await t.run(['site', 'run', 'shop', '--job', 'sync', '--to', copy, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ state: 'success', summary: { to: copy, lagSeconds: 0 } });
    expect((await t.run(['check', '--read-data'], { env: { FERRY_REPO: copy } })).code).toBe(0);

    const other = join(t.dir, 'other-repo');
    expect((await t.run(['init', '--kdf-memory', '8'], { env: { FERRY_REPO: other } })).code).toBe(0);
    const refused = await t.run(['site', 'run', 'shop', '--job', 'sync', '--to', other]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/sync to .*other-repo failed/);

    type Copy = { to: string; lastSuccessAt?: number; lagSeconds: number; error?: { code: string } };
    const status = (await t.json<{ name: string; sync: Copy[] }[]>(['site', 'status'])).find((x) => x.name === 'shop')!;
    const byTo = new Map(status.sync.map((c) => [c.to, c]));
    expect(byTo.get(copy)).toMatchObject({ lagSeconds: 0 });
    expect(byTo.get(copy)?.lastSuccessAt).toBeGreaterThan(0);
    expect(byTo.get(copy)?.error).toBeUndefined();
    expect(byTo.get(other)?.error?.code).toBe('sync.other-repository');
    expect(byTo.get(other)?.lastSuccessAt).toBeUndefined();
    expect((await t.run(['site', 'status'])).stdout).toMatch(new RegExp(`sync to ${copy}: ok, last success \\S+, 0 s behind`));
  });

  it('leaves the FTP password nowhere in the clear under the state directory', async () => {
    for (const needle of [ftp.password, encodeURIComponent(ftp.password), 'wrong-one']) {
      const found = await exec('grep', ['-rlF', needle, t.dir]).then((r) => r.stdout, () => '');
      expect(found, needle).toBe('');
    }
    // The same search finds what the records do hold: the grep reaches them.
    expect(await exec('grep', ['-rlF', `${ftp.host}:${ftp.port}/www`, join(t.dir, 'state', 'nats')]).then((r) => r.stdout, () => '')).not.toBe('');
  });
});
