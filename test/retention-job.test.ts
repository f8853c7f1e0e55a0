/**
 * Retention as a job through the coordinator: a stored policy per source
 * (`ferry retention set`), `ferry retention run` forgets by it and prunes,
 * `ferry forget` without --keep-* applies the stored policies, and sources
 * without a policy are left alone.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCliEnv, type CliEnv } from './cli-harness.ts';
import { compareTrees } from './compare-trees.ts';
import { pseudoRandom } from './tree-fixture.ts';

describe('retention jobs', () => {
  let t: CliEnv;
  let src: string;
  const ok = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = await t.run(args, { env });
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r;
  };
  const snapshots = async () => JSON.parse((await ok(['snapshots', '--json'])).stdout) as { id: string; source: string }[];

  beforeAll(async () => {
    t = await makeCliEnv('ferry-retention-');
    src = join(t.dir, 'src');
    await mkdir(src);
    expect((await t.run(['init', '--kdf-memory', '8', '--pack-size', '1'])).code).toBe(0);
    for (let i = 0; i < 3; i++) {
      await writeFile(join(src, 'data.bin'), pseudoRandom(3 * 2 ** 20, `round-${i}`));
      await ok(['backup', src]);
    }
    // Another source, with no policy: never touched.
    await ok(['backup', src], { FERRY_SOURCE: 'other' });
  });
  afterAll(() => t?.cleanup());

  it('forgets by the stored policy of each source and prunes, leaving sources without one alone', async () => {
    expect((await t.run(['forget', '--json'])).code).toBe(2); // no flags and no stored policy: refused
    await ok(['retention', 'set', '--source', 'testhost', '--keep-last', '1']);
    const list = JSON.parse((await ok(['retention', 'list', '--json'])).stdout) as { source: string; policy: unknown }[];
    expect(list).toEqual([expect.objectContaining({ source: 'testhost', policy: { last: 1 } })]);

    const plan = JSON.parse((await ok(['forget', '--dry-run', '--json'])).stdout) as { groups: { source: string; remove: unknown[] }[] };
    expect(plan.groups.map((g) => [g.source, g.remove.length])).toEqual([['testhost', 2]]);

    const run = JSON.parse((await ok(['retention', 'run', '--grace-hours', '0', '--json'])).stdout) as { state: string; summary: Record<string, number> };
    expect(run.state).toBe('success');
    expect(run.summary.removedSnapshots).toBe(2);
    expect(run.summary.deletedPacks).toBeGreaterThan(0);
    expect((await snapshots()).map((x) => x.source).sort()).toEqual(['other', 'testhost']);

    await ok(['check', '--read-data']);
    const out = join(t.dir, 'restored');
    await ok(['restore', 'latest', '--target', out]);
    expect(await compareTrees(src, join(out, src), { metadata: false })).toEqual([]);
  });

  it('refuses a run for a source without a policy, naming it', async () => {
    const r = await t.run(['retention', 'run', '--source', 'other']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/source other has no retention policy/);
    expect((await snapshots()).length).toBe(2);
  });

  it('schedules retention runs, and lists them beside backups', async () => {
    await ok(['schedule', 'add', 'nightly-retention', '--cron', '0 3 * * *', '--type', 'retention']);
    await ok(['schedule', 'add', 'nightly', '--cron', '0 2 * * *', src]);
    const list = JSON.parse((await ok(['schedule', 'list', '--json'])).stdout) as { name: string; type: string; spec: Record<string, unknown> }[];
    expect(list.map((x) => [x.name, x.type]).sort()).toEqual([['nightly', 'backup'], ['nightly-retention', 'retention']]);
    expect((await ok(['schedule', 'list'])).stdout).toMatch(/nightly-retention\s+0 3 \* \* \*\s+next \S+\s+retention/);
    expect((await t.run(['schedule', 'add', 'x', '--cron', '0 3 * * *', '--type', 'retention', src])).code).toBe(2);
  });

  it('refuses bad prune and retention options with a usage error, changing nothing', async () => {
    const before = (await snapshots()).length;
    for (const [args, message] of [
      [['prune', '--grace-hours=-1'], /--grace-hours is a number of hours/],
      [['prune', '--max-unused', '150'], /--max-unused is a percentage from 0 to 100/],
      [['retention', 'set', '--source', 'testhost'], /give at least one --keep-\* option/],
      [['retention', 'set', '--source', 'a', '--site', 'b', '--keep-last', '1'], /give --source or --site, not both/],
      [['retention', 'set', '--source', 'testhost', '--keep-daily', 'many'], /--keep-daily is "many"/],
    ] as const) {
      const r = await t.run([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect((await snapshots()).length).toBe(before);
    expect(JSON.parse((await ok(['retention', 'list', '--json'])).stdout)).toEqual([expect.objectContaining({ source: 'testhost', policy: { last: 1 } })]);
  });
});
