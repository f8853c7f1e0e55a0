/**
 * A repository on S3 through the CLI, against s3rver (test/s3-fixture.ts):
 * init, backup and a byte-identical restore; data packs in the data storage
 * class and every other object in the metadata class (read back with
 * HeadObject); SSE-S3 asked for on every write; and, with 5% of requests
 * failing (500, 503, reset connections), a backup that still completes and
 * a `check --read-data` that is clean.
 */
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCliEnv, type CliEnv } from './cli-harness.ts';
import { compareTrees } from './compare-trees.ts';
import { buildTree } from './tree-fixture.ts';
import { startS3Server, S3_BUCKET, type S3Server } from './s3-fixture.ts';

describe('S3 repository', () => {
  let s3: S3Server;
  let t: CliEnv;
  let src: string;
  let client: S3Client;

  /** Every object under `prefix` with the storage class HeadObject reports (STANDARD when it names none). */
  const classes = async (prefix: string): Promise<Map<string, string>> => {
    const out = new Map<string, string>();
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: S3_BUCKET, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of page.Contents ?? []) {
        const head = await client.send(new HeadObjectCommand({ Bucket: S3_BUCKET, Key: o.Key! }));
        out.set(o.Key!.slice(prefix.length), head.StorageClass ?? 'STANDARD');
      }
      token = page.NextContinuationToken;
    } while (token);
    return out;
  };

  beforeAll(async () => {
    s3 = await startS3Server();
    t = await makeCliEnv('ferry-s3-');
    Object.assign(t.env, s3.env, { FERRY_S3_DATA_CLASS: 'STANDARD_IA', FERRY_S3_METADATA_CLASS: 'STANDARD', FERRY_S3_SSE: 'AES256' });
    client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    src = join(t.dir, 'src');
    await mkdir(src);
    await buildTree(src);
  });
  afterAll(async () => {
    client?.destroy();
    await t?.cleanup();
    await s3?.stop();
  });

  it('backs up and restores byte-identically, data in the data class and the rest in the metadata class, SSE asked on every write', async () => {
    const repo = { FERRY_REPO: `s3://${S3_BUCKET}/plain` };
    expect((await t.run(['init', '--kdf-memory', '8'], { env: repo })).code).toBe(0);
    const b = await t.run(['backup', src], { env: repo });
    expect(b.code, b.stderr).toBe(0);
    const out = join(t.dir, 'restored');
    const r = await t.run(['restore', 'latest', '--target', out], { env: repo });
    expect(r.code, r.stderr).toBe(0);
    expect(await compareTrees(src, join(out, src), { metadata: true })).toEqual([]);

    const seen = await classes('plain/');
    const data = [...seen].filter(([k]) => k.startsWith('data/'));
    const rest = [...seen].filter(([k]) => !k.startsWith('data/'));
    expect(data.length).toBeGreaterThan(0);
    expect(rest.some(([k]) => k.startsWith('index/')) && rest.some(([k]) => k.startsWith('snapshots/')) && rest.some(([k]) => k === 'config')).toBe(true);
    expect(new Set(data.map(([, c]) => c))).toEqual(new Set(['STANDARD_IA']));
    expect(new Set(rest.map(([, c]) => c))).toEqual(new Set(['STANDARD']));

    const writes = s3.requests.filter((q) => q.key.startsWith('plain/') && ((q.method === 'PUT' && !q.query.includes('partNumber')) || (q.method === 'POST' && q.query.startsWith('uploads'))));
    expect(writes.length).toBeGreaterThanOrEqual(seen.size);
    expect(writes.filter((q) => q.headers['x-amz-server-side-encryption'] !== 'AES256')).toEqual([]);
  });

  it('completes a backup and a clean check --read-data with 5% of requests failing', async () => {
    const repo = { FERRY_REPO: `s3://${S3_BUCKET}/flaky`, FERRY_S3_SSE: '0' };
    // 1 MiB packs: enough requests that 5% of them is several faults.
    expect((await t.run(['init', '--kdf-memory', '8', '--pack-size', '1'], { env: repo })).code).toBe(0);
    const before = s3.requests.length;
    s3.faults({ rate: 0.05, seed: 42 });
    try {
      const b = await t.run(['backup', src], { env: repo });
      expect(b.code, b.stderr).toBe(0);
      const c = await t.run(['check', '--read-data', '--json'], { env: repo });
      expect(c.code, c.stderr).toBe(0);
    } finally {
      s3.faults(undefined);
    }
    const injected = s3.requests.slice(before).filter((q) => q.injected);
    expect(injected.length).toBeGreaterThanOrEqual(3);
    expect(injected.length).toBeLessThan((s3.requests.length - before) * 0.1);
    expect(new Set(injected.map((q) => q.injected))).toEqual(new Set(['500', '503', 'reset']));
    const out = join(t.dir, 'restored-flaky');
    const r = await t.run(['restore', 'latest', '--target', out], { env: repo });
    expect(r.code, r.stderr).toBe(0);
    expect(await compareTrees(src, join(out, src), { metadata: false })).toEqual([]);
  });

  it('restores from an archive class: asks every needed pack to be thawed at once, says it is waiting, and restores once they are readable', async () => {
    const repo = { FERRY_REPO: `s3://${S3_BUCKET}/archive`, FERRY_S3_DATA_CLASS: 'DEEP_ARCHIVE', FERRY_S3_SSE: '0' };
    s3.coldStorage(2);
    try {
      expect((await t.run(['init', '--kdf-memory', '8', '--pack-size', '4'], { env: repo })).code).toBe(0);
      for (let i = 0; i < 2; i++) {
        const b = await t.run(['backup', src], { env: repo });
        expect(b.code, b.stderr).toBe(0); // backups never read data packs, archived or not
      }
      const packs = [...(await classes('archive/'))].filter(([k]) => k.startsWith('data/'));
      expect(packs.length).toBeGreaterThan(1);
      expect(new Set(packs.map(([, c]) => c))).toEqual(new Set(['DEEP_ARCHIVE']));

      const before = s3.requests.length;
      const out = join(t.dir, 'restored-archive');
      const r = await t.run(['restore', 'latest', '--target', out, '--thaw-tier', 'Standard'], { env: { ...repo, FERRY_THAW_POLL_S: '1', FERRY_LOG_LEVEL: 'info' } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/waiting for \d+ of \d+ archived pack\(s\) to be restored \(Standard tier\)/);
      expect(await compareTrees(src, join(out, src), { metadata: true })).toEqual([]);
      const sent = s3.requests.slice(before);
      const asked = new Set(sent.filter((q) => q.method === 'POST' && q.query.startsWith('restore')).map((q) => q.key.replace('archive/', '')));
      expect(asked).toEqual(new Set(packs.map(([k]) => k)));
      // Every restore request went out before the first data read: one wait for all, not one per pack.
      const firstRead = sent.findIndex((q) => q.method === 'GET' && q.key.startsWith('archive/data/'));
      const lastAsk = sent.findLastIndex((q) => q.method === 'POST' && q.query.startsWith('restore'));
      expect(firstRead).toBeGreaterThan(lastAsk);
      expect(sent.filter((q) => q.injected === 'cold')).toEqual([]);
    } finally {
      s3.coldStorage(0);
    }
  });
});
