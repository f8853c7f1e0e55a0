/**
 * The personal workflow of seed 002 (bt) through the CLI: track a
 * directory, stage, back up, see status and history, restore a version as
 * FILE.<checksum>, and rebuild the catalog from the repository.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeCliEnv, type CliEnv } from './cli-harness.ts';

type Row = { path: string; state: string };

describe('tracked directories: dir init, add, status, backup, log, restore-file', () => {
  let t: CliEnv;
  let home: string;
  const status = async () => {
    const r = await t.run(['status', '--json'], { cwd: home });
    expect(r.code, r.stderr).toBe(0);
    return Object.fromEntries((JSON.parse(r.stdout) as Row[]).map((x) => [x.path.slice(home.length + 1), x.state]));
  };

  beforeAll(async () => {
    t = await makeCliEnv();
    home = join(t.dir, 'home');
    await mkdir(join(home, 'docs'), { recursive: true });
    await writeFile(join(home, 'docs', 'a.txt'), 'version one\n');
    await writeFile(join(home, 'docs', 'b.txt'), 'bee\n');
    await writeFile(join(home, 'scratch.tmp'), 'not for backup\n');
    expect((await t.run(['init', '--kdf-memory', '8'])).code).toBe(0);
  });
  afterAll(() => t.cleanup());

  it('refuses add and status outside a tracked directory', async () => {
    expect((await t.run(['add', 'docs/a.txt'], { cwd: home })).code).toBe(2);
    expect((await t.run(['status'], { cwd: home })).code).toBe(2);
  });

  it('stages, backs up only staged and tracked files, and reports each state', async () => {
    expect((await t.run(['dir', 'init'], { cwd: home })).code).toBe(0);
    expect((await t.run(['add', 'docs/a.txt'], { cwd: home })).code).toBe(0);
    expect(await status()).toEqual({ 'docs/a.txt': 'staged', 'docs/b.txt': 'untracked', 'scratch.tmp': 'untracked' });
    const b = await t.run(['backup'], { cwd: home });
    expect(b.code, b.stderr).toBe(0);
    expect(await status()).toEqual({ 'docs/a.txt': 'backed-up', 'docs/b.txt': 'untracked', 'scratch.tmp': 'untracked' });
    const ls = await t.run(['ls', 'latest', home]);
    expect(ls.stdout).toContain('docs/a.txt');
    expect(ls.stdout).not.toContain('b.txt');
    expect(ls.stdout).not.toContain('scratch.tmp');
  });

  it('sees modified and deleted files, and keeps every version', async () => {
    await writeFile(join(home, 'docs', 'a.txt'), 'version two, longer\n');
    await utimes(join(home, 'docs', 'a.txt'), new Date(), new Date(Date.now() + 5000));
    expect((await status())['docs/a.txt']).toBe('modified');
    expect((await t.run(['add', 'docs'], { cwd: home })).code).toBe(0);
    expect((await t.run(['backup'], { cwd: home })).code).toBe(0);
    await rm(join(home, 'docs', 'b.txt'));
    expect((await status())['docs/b.txt']).toBe('deleted');
    expect((await t.run(['backup'], { cwd: home })).code).toBe(0);

    const log = JSON.parse((await t.run(['log', 'docs/a.txt', '--json'], { cwd: home })).stdout) as { version: number; size: number; checksum: string }[];
    expect(log.map((v) => v.size)).toEqual([12, 20]);
    const bLog = JSON.parse((await t.run(['log', 'docs/b.txt', '--json'], { cwd: home })).stdout) as { deleted: boolean }[];
    expect(bLog.at(-1)!.deleted).toBe(true);

    const r = await t.run(['restore-file', 'docs/a.txt', '--version', '1'], { cwd: home });
    expect(r.code, r.stderr).toBe(0);
    const restored = join(home, 'docs', `a.txt.${log[0]!.checksum}`);
    expect(await readFile(restored, 'utf8')).toBe('version one\n');
    const byChecksum = await t.run(['restore-file', 'docs/a.txt', '--checksum', log[1]!.checksum.slice(0, 8), '--content-only'], { cwd: home });
    expect(byChecksum.code, byChecksum.stderr).toBe(0);
    expect((await stat(join(home, 'docs', `a.txt.${log[1]!.checksum}`))).size).toBe(20);
  });

  it('rebuilds the catalog from the repository with the same history', async () => {
    const before = (await t.run(['log', join(home, 'docs', 'a.txt'), '--json'])).stdout;
    await rm(join(t.env.FERRY_STATE_DIR!, 'catalog'), { recursive: true });
    const rb = await t.run(['catalog', 'rebuild', '--json']);
    expect(rb.code, rb.stderr).toBe(0);
    expect((JSON.parse(rb.stdout) as { applied: number }).applied).toBe(3);
    expect((await t.run(['log', join(home, 'docs', 'a.txt'), '--json'])).stdout).toBe(before);
  });
});
