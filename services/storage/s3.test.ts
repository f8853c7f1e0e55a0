/**
 * S3Storage against a real S3 server (s3rver, test/s3-fixture.ts): the
 * storage contract, multipart uploads and their clean abort, storage
 * classes and SSE as sent, retryable faults, and archived objects.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server, type S3Server } from '../../test/s3-fixture.ts';
import { describeStorageConformance, collect, patternBytes, sameBytes } from './conformance.ts';
import { S3Storage } from './s3.ts';
import { StorageErrorCode } from './storage.ts';
import { withRetry } from './retry.ts';
import { hasCode } from '../../protocol/errors.ts';

const MiB = 1024 * 1024;
let s3: S3Server;
let run = 0;

beforeAll(async () => {
  s3 = await startS3Server();
  Object.assign(process.env, s3.env);
});
afterAll(async () => {
  await s3?.stop();
});

/** A fresh repository prefix per test: every test starts from an empty storage. */
const fresh = (settings: ConstructorParameters<typeof S3Storage>[1] = {}) => new S3Storage(`s3://ferry-test/t${process.pid}-${++run}`, { endpoint: s3.endpoint, ...settings });

describeStorageConformance('S3Storage on s3rver', async () => {
  const storage = fresh();
  return { storage, cleanup: () => storage.close() };
});

describe('S3Storage', () => {
  it('uploads a large object in parts under its final name, and nothing before the commit', async () => {
    const s = fresh({ multipartThreshold: 8 * MiB, partSize: 5 * MiB });
    const data = patternBytes(12 * MiB + 3, 5);
    const w = await s.writer();
    await w.write(data.subarray(0, 7 * MiB));
    await w.write(data.subarray(7 * MiB));
    expect(await collect(s.list(''))).toEqual([]);
    const before = s3.requests.length;
    await w.commit('data/ab/big');
    const sent = s3.requests.slice(before);
    expect(sent.filter((r) => r.method === 'PUT' && r.query.includes('partNumber')).length).toBe(3);
    expect(sameBytes(await s.load('data/ab/big'), data)).toBe(true);
    expect(sameBytes(await s.load('data/ab/big', { offset: 10 * MiB, length: 5 }), data.subarray(10 * MiB, 10 * MiB + 5))).toBe(true);
    await s.close();
  });

  it('aborts a multipart upload whose part failed, and a second commit succeeds', async () => {
    const s = fresh({ multipartThreshold: 6 * MiB, partSize: 5 * MiB });
    const data = patternBytes(11 * MiB, 9);
    const w = await s.writer();
    await w.write(data);
    s3.faults({ rate: 1, only: (r) => r.method === 'PUT' && r.query.includes('partNumber=2') });
    const before = s3.requests.length;
    const err = await w.commit('data/cd/flaky').catch((e: unknown) => e);
    s3.faults(undefined);
    expect((err as { retryable?: boolean }).retryable).toBe(true);
    expect(s3.requests.slice(before).some((r) => r.method === 'DELETE' && r.query.includes('uploadId'))).toBe(true);
    expect(await collect(s.list(''))).toEqual([]);
    await w.commit('data/cd/flaky');
    expect(sameBytes(await s.load('data/cd/flaky'), data)).toBe(true);
    await s.close();
  });

  it('writes data packs in the data class, everything else in the metadata class, with SSE when asked', async () => {
    const s = fresh({ dataClass: 'STANDARD_IA', metadataClass: 'STANDARD', sse: true, multipartThreshold: 6 * MiB, partSize: 5 * MiB });
    const before = s3.requests.length;
    await s.save('data/ef/pack', patternBytes(100, 1));
    await s.save('index/one', patternBytes(10, 2));
    const w = await s.writer();
    await w.write(patternBytes(7 * MiB, 3));
    await w.commit('data/ef/multi');
    const writes = s3.requests.slice(before).filter((r) => (r.method === 'PUT' && !r.query.includes('partNumber')) || (r.method === 'POST' && r.query.startsWith('uploads')));
    expect(writes.map((r) => [r.key.replace(/^t\d+-\d+\//, ''), r.headers['x-amz-storage-class'], r.headers['x-amz-server-side-encryption']])).toEqual([
      ['data/ef/pack', 'STANDARD_IA', 'AES256'],
      ['index/one', 'STANDARD', 'AES256'],
      ['data/ef/multi', 'STANDARD_IA', 'AES256'],
    ]);
    await s.close();
  });

  it('marks 500, 503 and reset connections retryable, so the retry wrapper carries a run of calls through', async () => {
    const s = withRetry(fresh(), { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 8 });
    s3.faults({ rate: 0.3, seed: 7 });
    try {
      for (let i = 0; i < 30; i++) await s.save(`index/f${i}`, patternBytes(1000, i));
      for (let i = 0; i < 30; i++) expect(sameBytes(await s.load(`index/f${i}`), patternBytes(1000, i))).toBe(true);
      expect((await collect(s.list('index/'))).length).toBe(30);
    } finally {
      s3.faults(undefined);
    }
    const injected = new Set(s3.requests.filter((r) => r.injected).map((r) => r.injected));
    expect(injected).toEqual(new Set(['500', '503', 'reset']));
    await s.close();
  });

  it('names an archived object storage.cold, and reads it once a restore has thawed it', async () => {
    s3.coldStorage(2);
    try {
      const s = fresh({ dataClass: 'DEEP_ARCHIVE' });
      await s.save('data/aa/frozen', patternBytes(64, 4));
      const cold = await s.load('data/aa/frozen').catch((e: unknown) => e);
      expect(hasCode(cold, StorageErrorCode.Cold)).toBe(true);
      expect(await s.restoreState('data/aa/frozen')).toEqual({ storageClass: 'DEEP_ARCHIVE', state: 'cold' });
      await s.requestRestore('data/aa/frozen', { days: 1, tier: 'Bulk' });
      expect((await s.restoreState('data/aa/frozen')).state).toBe('thawing');
      expect((await s.restoreState('data/aa/frozen')).state).toBe('thawing');
      expect((await s.restoreState('data/aa/frozen')).state).toBe('readable');
      expect(sameBytes(await s.load('data/aa/frozen'), patternBytes(64, 4))).toBe(true);
      await s.close();
    } finally {
      s3.coldStorage(0);
    }
  });

  it('says so when the bucket does not exist', async () => {
    const s = new S3Storage('s3://no-such-bucket/x', { endpoint: s3.endpoint });
    const err = await s.save('config', patternBytes(1, 1)).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/bucket of s3:\/\/no-such-bucket\/x\/ does not exist/);
    expect((err as { retryable?: boolean }).retryable).toBe(false);
    await s.close();
  });
});
