/**
 * `ferry sync --to` through the real CLI, from a local repository to S3
 * (s3rver behind the proxy of test/s3-fixture.ts): the copy lists the same
 * snapshots, passes `check --read-data` and restores byte-identically,
 * read with a state directory of its own as after the loss of the first
 * machine; a second sync copies nothing; another repository is refused.
 * Then a sync killed with SIGKILL midway: the copy holds no snapshot, the
 * next sync sends none of the objects already there, and the copy checks
 * clean.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedStopped } from '../services/nats/embedded-server.ts';
import { FERRY, makeCliEnv, type CliEnv } from './cli-harness.ts';
import { compareTrees } from './compare-trees.ts';
import { buildJobSource, buildTree } from './tree-fixture.ts';
import { startS3Server, S3_BUCKET, type S3Server, type SeenRequest } from './s3-fixture.ts';

interface SyncJson {
  readonly to: string;
  readonly phases: Record<'config' | 'packs' | 'index' | 'snapshots', { copied: number; skipped: number; ignored: number }>;
  readonly total: { copied: number; copiedBytes: number; skipped: number; ignored: number };
}

/** Whole-object writes (a PUT that is not one part of a multipart upload). */
const isPut = (q: SeenRequest) => q.method === 'PUT' && !q.query.includes('partNumber');
const isPack = (key: string, prefix: string) => key.startsWith(`${prefix}data/`) || key.startsWith(`${prefix}tree/`);

/** Names of the objects of a local repository, as its storage would list them. */
async function localObjects(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && !e.name.startsWith('.tmp-')).map((e) => join(e.parentPath, e.name).slice(root.length + 1));
}

describe('ferry sync', () => {
  let s3: S3Server;
  let t: CliEnv;
  let client: S3Client;

  /** Every key under `prefix` in the test bucket. */
  const listKeys = async (prefix: string): Promise<Set<string>> => {
    const out = new Set<string>();
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: S3_BUCKET, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of page.Contents ?? []) out.add(o.Key!);
      token = page.NextContinuationToken;
    } while (token);
    return out;
  };
  /** State directories of the commands run on the copies: their embedded nats-servers must stop before cleanup. */
  const copyStates = new Set<string>();
  /** Environment of a command on the copy, from a machine that never saw the source (no index cache). */
  const onCopy = (url: string) => {
    const state = join(t.dir, `state-${url.split('/').at(-1)}`);
    copyStates.add(state);
    return { FERRY_REPO: url, FERRY_STATE_DIR: state };
  };

  beforeAll(async () => {
    s3 = await startS3Server();
    t = await makeCliEnv('ferry-sync-');
    Object.assign(t.env, s3.env);
    client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  });
  afterAll(async () => {
    client?.destroy();
    try {
      for (const state of copyStates) await embeddedStopped(state);
      await t?.cleanup();
    } finally {
      await s3?.stop();
    }
  });

  it('copies a local repository to S3: same snapshots, clean check --read-data, identical restore; then copies nothing more', async () => {
    const src = join(t.dir, 'src');
    await mkdir(src);
    await buildTree(src);
    expect((await t.run(['init', '--kdf-memory', '8'])).code).toBe(0);
    expect((await t.run(['backup', src])).code).toBe(0);
    await writeFile(join(src, 'a', 'second.txt'), 'added before the second backup\n');
    expect((await t.run(['backup', src])).code).toBe(0);
    const copy = `s3://${S3_BUCKET}/copy`;

    const first = await t.json<SyncJson>(['sync', '--to', copy]);
    expect(first.to).toMatch(/^s3:\/\/ferry-test\/copy\/?$/);
    expect(first.phases.snapshots.copied).toBe(2);
    expect(first.total).toMatchObject({ copied: (await localObjects(t.repo)).length, skipped: 0, ignored: 0 });
    expect(await listKeys('copy/')).toEqual(new Set((await localObjects(t.repo)).map((n) => `copy/${n}`)));

    const mine = await t.json(['snapshots']);
    const theirs = await t.run(['snapshots', '--json'], { env: onCopy(copy) });
    expect(theirs.code, theirs.stderr).toBe(0);
    expect(JSON.parse(theirs.stdout)).toEqual(mine);
    const check = await t.run(['check', '--read-data'], { env: onCopy(copy) });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const out = join(t.dir, 'restored');
    const r = await t.run(['restore', 'latest', '--target', out], { env: onCopy(copy) });
    expect(r.code, r.stderr).toBe(0);
    expect(await compareTrees(src, join(out, src), { metadata: true })).toEqual([]);

    const before = s3.requests.length;
    const again = await t.json<SyncJson>(['sync', '--to', copy]);
    expect(again.total).toMatchObject({ copied: 0, skipped: first.total.copied });
    expect(s3.requests.slice(before).filter(isPut)).toEqual([]);
  });

  it('refuses another repository, and a sync without --to', async () => {
    const other = { FERRY_REPO: join(t.dir, 'other') };
    expect((await t.run(['init', '--kdf-memory', '8'], { env: other })).code).toBe(0);
    const refused = await t.run(['sync', '--to', other.FERRY_REPO]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/holds another repository.*\[sync\.other-repository\]/);
    expect(await localObjects(other.FERRY_REPO)).toHaveLength(2); // its config and key, nothing added
    const usage = await t.run(['sync']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--to REPO');
  });

  it('after a kill -9 midway, sends again none of what arrived and completes a copy that checks clean', async () => {
    const src = join(t.dir, 'job-src');
    await buildJobSource(src, { bigFiles: 2, smallDirs: 1 });
    const local = { FERRY_REPO: join(t.dir, 'repo2') };
    expect((await t.run(['init', '--kdf-memory', '8', '--pack-size', '1'], { env: local })).code).toBe(0);
    const b = await t.run(['backup', src], { env: local });
    expect(b.code, b.stderr).toBe(0);
    const objects = await localObjects(local.FERRY_REPO);
    const packs = objects.filter((n) => isPack(n, ''));
    expect(packs.length).toBeGreaterThan(15); // packs close at 1 MiB plus what the reads in flight add
    const copy = `s3://${S3_BUCKET}/copy2`;

    const start = s3.requests.length;
    const child = spawn(FERRY, ['sync', '--to', copy], { env: { ...t.env, ...local }, stdio: 'ignore' });
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    const packPuts = () => s3.requests.slice(start).filter((q) => isPut(q) && isPack(q.key, 'copy2/')).length;
    const deadline = Date.now() + 60_000;
    while (packPuts() < 3 && child.exitCode === null && Date.now() < deadline) await new Promise((res) => setTimeout(res, 2));
    child.kill('SIGKILL');
    expect(await exited).toBe(null); // killed, not finished
    expect(packPuts()).toBeGreaterThanOrEqual(3);
    // An upload the kill cut off leaves nothing (the fixture stores objects whole, as S3 does).
    const arrived = await listKeys('copy2/');
    expect([...arrived].filter((k) => k.startsWith('copy2/snapshots/') || k.startsWith('copy2/index/'))).toEqual([]);
    expect([...arrived].filter((k) => isPack(k, 'copy2/')).length).toBeLessThan(packs.length);

    const rerunStart = s3.requests.length;
    const rerun = await t.run(['sync', '--to', copy, '--json'], { env: local });
    expect(rerun.code, rerun.stderr).toBe(0);
    const result = JSON.parse(rerun.stdout) as SyncJson;
    const sent = s3.requests.slice(rerunStart).filter(isPut).map((q) => q.key);
    expect(sent.filter((k) => arrived.has(k))).toEqual([]);
    expect(new Set(sent).size).toBe(sent.length);
    expect(result.total.copied + result.total.skipped).toBe(objects.length);
    expect(result.total.skipped).toBeGreaterThanOrEqual(arrived.size);
    expect(await listKeys('copy2/')).toEqual(new Set(objects.map((n) => `copy2/${n}`)));

    const check = await t.run(['check', '--read-data', '--json'], { env: onCopy(copy) });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ ok: true, snapshots: 1, packsRead: packs.length });
  });
});
