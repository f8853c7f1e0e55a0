/**
 * `ferry site run NAME --job preflight` through the CLI, the coordinator
 * and the site actor on the embedded NATS, against private sshd servers:
 * a site whose targets are all reachable passes; a missing remote path, a
 * missing remote tool, a refused key and an unreachable host each fail the
 * preflight with a message naming the cause, and the site's health says so.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCliEnv, type CliEnv } from './cli-harness.ts';
import { startSshd, sshdUnavailable, type Sshd } from './sshd-fixture.ts';

const exec = promisify(execFile);
const unavailable = sshdUnavailable();
if (unavailable) console.warn(`skipping the site preflight tests: ${unavailable}`);

interface Status {
  name: string;
  health: string;
  lastPreflight: { state: string; message?: string } | null;
}

describe.skipIf(unavailable !== undefined)('site preflight', () => {
  let sshd: Sshd;
  let bare: Sshd;
  let bin: string;
  let t: CliEnv;
  const addr = (d: Sshd) => ['--host', d.host, '--port', String(d.port), '--user', d.user, '--key', d.keyFile, '--every', '0'];

  beforeAll(async () => {
    // A second server whose sessions see only a few tools: no sqlite3 among them.
    bin = await mkdtemp(join(tmpdir(), 'ferry-bin-'));
    for (const tool of ['mktemp', 'rmdir', 'gzip', 'rsync']) await symlink(`/usr/bin/${tool}`, join(bin, tool));
    [sshd, bare] = await Promise.all([startSshd(), startSshd({ path: bin })]);
    t = await makeCliEnv('ferry-preflight-');
    expect((await t.run(['init', '--kdf-memory', '8'])).code).toBe(0);
    await mkdir(join(sshd.dir, 'www'));
    await writeFile(join(sshd.dir, 'www', 'index.html'), 'hi');
    await exec('sqlite3', [join(sshd.dir, 'app.db'), 'create table t(x); insert into t values (1);']);
    await exec('sqlite3', [join(bare.dir, 'app.db'), 'create table t(x);']);
  });
  afterAll(async () => {
    await t?.cleanup();
    await Promise.all([sshd?.stop(), bare?.stop()]);
    if (bin) await rm(bin, { recursive: true, force: true });
  });

  const status = async (name: string) => (await t.json<Status[]>(['site', 'status'])).find((x) => x.name === name)!;

  it('passes a site whose login, paths and tools are all there, and records it', async () => {
    expect((await t.run(['site', 'add', 'good', ...addr(sshd)])).code).toBe(0);
    expect((await t.run(['target', 'add', 'good', 'directory', join(sshd.dir, 'www')])).code).toBe(0);
    expect((await t.run(['target', 'add', 'good', 'sqlite', join(sshd.dir, 'app.db')])).code).toBe(0);
    const r = await t.run(['site', 'run', 'good', '--job', 'preflight']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/all \d+ checks passed/);
    expect(await status('good')).toMatchObject({ health: 'ok', lastPreflight: { state: 'ok' } });
  });

  it('fails on a missing remote path and a missing remote tool, naming each', async () => {
    expect((await t.run(['target', 'add', 'good', 'directory', join(sshd.dir, 'gone')])).code).toBe(0);
    const path = await t.run(['site', 'run', 'good', '--job', 'preflight']);
    expect(path.code).toBe(1);
    expect(path.stderr).toContain(`directory ${join(sshd.dir, 'gone')} is missing or unreadable`);
    expect(await status('good')).toMatchObject({ health: 'failed', lastPreflight: { state: 'failed' } });

    expect((await t.run(['site', 'add', 'notools', ...addr(bare)])).code).toBe(0);
    expect((await t.run(['target', 'add', 'notools', 'sqlite', join(bare.dir, 'app.db')])).code).toBe(0);
    const tool = await t.run(['site', 'run', 'notools', '--job', 'preflight']);
    expect(tool.code).toBe(1);
    expect(tool.stderr).toMatch(/sqlite3 on the site is missing or unreadable; install the sqlite3 command-line tool/);
  });

  it('fails on a key the site no longer takes and on a host that is down, and other sites still run', async () => {
    // The site's key is taken out of authorized_keys after it was added.
    const other = await makeCliEnv('ferry-preflight-b-');
    try {
      expect((await other.run(['init', '--kdf-memory', '8'])).code).toBe(0);
      expect((await other.run(['site', 'add', 'revoked', ...addr(bare)])).code).toBe(0);
      const keys = join(bare.dir, '..', 'authorized_keys');
      const saved = await readFile(keys, 'utf8');
      await writeFile(keys, '');
      const refused = await other.run(['site', 'run', 'revoked', '--job', 'preflight']);
      await writeFile(keys, saved);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/refused the key or password/);

      expect((await other.run(['site', 'add', 'down', ...addr(sshd)])).code).toBe(0);
      await sshd.stop();
      const down = await other.run(['site', 'run', 'down', '--job', 'preflight']);
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/cannot connect \(ECONNREFUSED\)/);

      // The other site of the same worker is unaffected.
      const fine = await other.run(['site', 'run', 'revoked', '--job', 'preflight']);
      expect(fine.code, fine.stderr).toBe(0);
    } finally {
      await other.cleanup();
    }
  });
});
