/**
 * `ferry forget` end to end through the real CLI. Backups take the current
 * time, so this tests what does not depend on it: --keep-last, per-group
 * policies, filters, --dry-run, the JSON shape, refusals, and that what is
 * kept still lists and restores. The calendar rules are tested on fixed
 * times in services/repo/forget-policy.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeCliEnv, type CliEnv } from './cli-harness.ts';

interface ForgetJson {
  dryRun: boolean;
  groups: { host: string; source: string; paths: string[]; keep: { id: string; time: string; reasons: string[] }[]; remove: { id: string; time: string }[] }[];
  removed: number;
}

describe('ferry forget', () => {
  let t: CliEnv;
  let docs: string;
  let photos: string;
  /** Snapshot IDs of `docs`, oldest first; backup i stored `version i`. */
  const docsIds: string[] = [];
  let photosId: string;
  const listed = async () => (await t.json<{ id: string }[]>(['snapshots'])).map((s) => s.id).sort();

  beforeAll(async () => {
    t = await makeCliEnv('ferry-forget-');
    docs = join(t.dir, 'docs');
    photos = join(t.dir, 'photos');
    await mkdir(docs);
    await mkdir(photos);
    await writeFile(join(photos, 'p.jpg'), 'not really a photo\n');
    expect((await t.run(['init', '--kdf-memory', '8'])).code).toBe(0);
    for (let i = 0; i < 5; i++) {
      await writeFile(join(docs, 'a.txt'), `version ${i}\n`);
      docsIds.push((await t.json<{ id: string }>(['backup', docs])).id);
    }
    photosId = (await t.json<{ id: string }>(['backup', '--source', 'camera', photos])).id;
  });
  afterAll(() => t.cleanup());

  it('refuses to run without a policy, and names what is missing', async () => {
    const r = await t.run(['forget']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give at least one --keep-* option');
    expect(await listed()).toEqual([...docsIds, photosId].sort());
  });

  it.each([
    [['--keep-within', '3w'], '--keep-within: "3w" is not a duration'],
    [['--keep-within', '0d'], '--keep-within: "0d" is not a duration'],
    [['--keep-last', 'two'], '--keep-last is "two"; give a whole number'],
    [['--keep-daily=-2'], 'keep daily is -2'],
    [['--keep-last', '1', 'latest'], 'takes no arguments'],
    [['--keep-forever', '1'], "Unknown option '--keep-forever'"],
  ])('refuses %j with exit 2', async (args, message) => {
    const r = await t.run(['forget', ...args]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(message);
    expect(await listed()).toHaveLength(6);
  });

  it('--dry-run reports the plan per group and removes nothing', async () => {
    const r = await t.json<ForgetJson>(['forget', '--keep-last', '2', '--dry-run']);
    expect(r.dryRun).toBe(true);
    expect(r.removed).toBe(0);
    expect(r.groups.map((g) => [g.host, g.source, g.paths])).toEqual([['testhost', 'camera', [photos]], ['testhost', 'testhost', [docs]]]);
    const [camera, mine] = r.groups;
    expect(camera!.keep).toEqual([{ id: photosId, time: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/), reasons: ['last snapshot'] }]);
    expect(camera!.remove).toEqual([]);
    expect(mine!.keep.map((k) => k.id)).toEqual([docsIds[4], docsIds[3]]);
    expect(mine!.remove.map((k) => k.id)).toEqual([docsIds[2], docsIds[1], docsIds[0]]);
    expect(await listed()).toEqual([...docsIds, photosId].sort());

    const text = await t.run(['forget', '--keep-last', '2', '--dry-run']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`    ${docsIds[4]!.slice(0, 12)}  `);
    expect(text.stdout).toContain('dry run: 3 snapshot(s) would be removed; nothing was changed');
  });

  it('--host and --source choose which snapshots the policy sees', async () => {
    const other = await t.json<ForgetJson>(['forget', '--keep-last', '1', '--host', 'elsewhere']);
    expect(other).toEqual({ dryRun: false, groups: [], removed: 0 });
    const camera = await t.json<ForgetJson>(['forget', '--keep-last', '1', '--source', 'camera', '--dry-run']);
    expect(camera.groups.map((g) => g.source)).toEqual(['camera']);
    const unlimited = await t.json<ForgetJson>(['forget', '--keep-last=-1', '--source', 'testhost', '--dry-run']);
    expect(unlimited.groups[0]!.keep).toHaveLength(5);
    expect(await listed()).toHaveLength(6);
  });

  it('removes what the policy does not keep; what is kept lists and restores', async () => {
    const r = await t.run(['forget', '--keep-last', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('removed 3 snapshot(s); the data they referenced stays in the repository until `ferry prune` reclaims it');
    expect(await listed()).toEqual([docsIds[3], docsIds[4], photosId].sort());

    const again = await t.json<ForgetJson>(['forget', '--keep-last', '2']);
    expect(again.removed).toBe(0);

    const out = join(t.dir, 'restored');
    const back = await t.run(['restore', `${docsIds[3]}:${docs}`, '--target', out]);
    expect(back.code, back.stderr).toBe(0);
    expect(await readFile(join(out, 'a.txt'), 'utf8')).toBe('version 3\n');
    const gone = await t.run(['restore', `${docsIds[0]}:${docs}`, '--target', join(t.dir, 'gone')]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('[repo.unknown-snapshot]');
  });
});
