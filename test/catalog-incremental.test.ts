/**
 * The catalog after repeated backups of the same paths: subtrees whose tree
 * ID did not change since the snapshot applied before are skipped
 * (services/repo/catalog-feed.ts), so these checks make sure changes deep in
 * a changed subtree, deletions, and files in skipped subtrees all still come
 * out right, through `log` and after a rebuild.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeCliEnv, type CliEnv } from './cli-harness.ts';

type Version = { size: number; deleted?: boolean };

describe('catalog across backups of the same paths', () => {
  let t: CliEnv;
  let src: string;
  const log = async (rel: string): Promise<Version[]> => {
    const r = await t.run(['log', join(src, rel), '--json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Version[];
  };
  const backup = async () => {
    const r = await t.run(['backup', src]);
    expect(r.code, r.stderr).toBe(0);
  };

  beforeAll(async () => {
    t = await makeCliEnv();
    src = join(t.dir, 'src');
    for (const d of ['a/deep/er', 'b/still', 'c']) await mkdir(join(src, d), { recursive: true });
    await writeFile(join(src, 'a/deep/er/changing.txt'), 'one\n');
    await writeFile(join(src, 'a/deep/er/going.txt'), 'bye\n');
    await writeFile(join(src, 'b/still/same.txt'), 'same\n');
    await writeFile(join(src, 'c/top.txt'), 'top\n');
    expect((await t.run(['init', '--kdf-memory', '8'])).code).toBe(0);
    await backup();
  });
  afterAll(() => t.cleanup());

  it('records a change deep in one subtree and a deletion, and keeps skipped subtrees', async () => {
    await writeFile(join(src, 'a/deep/er/changing.txt'), 'two, longer\n');
    await utimes(join(src, 'a/deep/er/changing.txt'), new Date(), new Date(Date.now() + 5000));
    await rm(join(src, 'a/deep/er/going.txt'));
    await backup();
    await backup(); // nothing changed: every subtree is skipped
    expect((await log('a/deep/er/changing.txt')).map((v) => v.size)).toEqual([4, 12]);
    expect((await log('a/deep/er/going.txt')).at(-1)?.deleted).toBe(true);
    expect((await log('b/still/same.txt')).map((v) => v.size)).toEqual([5]);
    expect((await log('c/top.txt')).map((v) => v.size)).toEqual([4]);
  });

  it('gives the same history after a rebuild', async () => {
    const before = await Promise.all(['a/deep/er/changing.txt', 'a/deep/er/going.txt', 'b/still/same.txt'].map(log));
    const rb = await t.run(['catalog', 'rebuild']);
    expect(rb.code, rb.stderr).toBe(0);
    const after = await Promise.all(['a/deep/er/changing.txt', 'a/deep/er/going.txt', 'b/still/same.txt'].map(log));
    expect(after).toEqual(before);
  });
});
