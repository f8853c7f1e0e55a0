import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canTransition, JobStore, type JobRecord } from './job-store.ts';
import { runtimeEnv, type RuntimeEnv } from './runtime.fixture.ts';

const job = (jobId: string, tenant = 'acme', createdAt = 1000) => ({ jobId, tenant, type: 'backup' as const, repoId: 'r1', spec: { paths: ['/srv'] }, createdAt });

describe('job store', () => {
  let env: RuntimeEnv;
  let jobs: JobStore;
  beforeAll(async () => {
    env = await runtimeEnv();
    jobs = await JobStore.open(env.nc);
  });
  afterAll(() => env?.close());

  it('encodes the state machine', () => {
    expect(canTransition('queued', 'running')).toBe(true);
    expect(canTransition('queued', 'failed')).toBe(true);
    expect(canTransition('queued', 'success')).toBe(false);
    expect(canTransition('running', 'warning')).toBe(true);
    expect(canTransition('running', 'queued')).toBe(false);
    expect(canTransition('running', 'running')).toBe(true);
    expect(canTransition('success', 'success')).toBe(false);
    expect(canTransition('failed', 'running')).toBe(false);
  });

  it('creates once, gets, and walks a job to success', async () => {
    const rec = await jobs.create(job('j1'));
    expect(rec).toMatchObject({ state: 'queued', stats: {}, createdAt: 1000 });
    await expect(jobs.create(job('j1'))).rejects.toMatchObject({ code: 'job.exists' });
    expect(await jobs.get('acme', 'j1')).toEqual(rec);
    expect(await jobs.get('acme', 'nope')).toBeUndefined();
    await jobs.update('acme', 'j1', (r) => ({ ...r, state: 'running' }));
    await jobs.update('acme', 'j1', (r) => ({ ...r, batches: 3, stats: { files: 10 } }));
    const done = await jobs.update('acme', 'j1', (r) => ({ ...r, state: 'success', snapshotId: 'snap1', jobId: 'hijack', createdAt: 5 }));
    expect(done).toMatchObject({ jobId: 'j1', createdAt: 1000, state: 'success', batches: 3, snapshotId: 'snap1', stats: { files: 10 } });
    // Re-applying the same final record (a redelivered message) is a no-op; anything else is refused.
    expect(await jobs.update('acme', 'j1', (r) => ({ ...r, state: 'success' }))).toEqual(done);
    await expect(jobs.update('acme', 'j1', (r) => ({ ...r, state: 'failed' }))).rejects.toMatchObject({ code: 'job.bad-transition' });
    await expect(jobs.update('acme', 'j1', (r) => ({ ...r, stats: { files: 11 } }))).rejects.toMatchObject({ code: 'job.bad-transition' });
    await expect(jobs.update('acme', 'missing', (r) => r)).rejects.toMatchObject({ code: 'job.not-found' });
  });

  it('refuses illegal transitions and malformed records', async () => {
    await jobs.create(job('j2'));
    await expect(jobs.update('acme', 'j2', (r) => ({ ...r, state: 'success' }))).rejects.toMatchObject({ code: 'job.bad-transition' });
    await expect(jobs.create({ ...job('j3'), state: 'running' })).rejects.toMatchObject({ code: 'job.bad-transition' });
    await expect(jobs.create({ ...job('bad.id') })).rejects.toMatchObject({ code: 'protocol.invalid', details: { field: 'jobId' } });
    await expect(jobs.create({ ...job('j4'), repoId: '' })).rejects.toMatchObject({ code: 'protocol.invalid' });
    const failed = await jobs.update('acme', 'j2', (r) => ({ ...r, state: 'failed', error: { code: 'job.cancelled', message: 'cancelled', retryable: false, details: {} } }));
    expect(failed.error?.code).toBe('job.cancelled');
  });

  it('serialises concurrent updates without losing any', async () => {
    await jobs.create(job('counter'));
    await jobs.update('acme', 'counter', (r) => ({ ...r, state: 'running', stats: { n: 0 } }));
    const others = await Promise.all([1, 2, 3].map(async () => JobStore.open(await env.connect())));
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => (others[i % 3] ?? jobs).update('acme', 'counter', (r: JobRecord) => ({ ...r, stats: { n: (r.stats.n ?? 0) + 1 } }))),
    );
    expect((await jobs.get('acme', 'counter'))?.stats.n).toBe(40);
  });

  it('lists newest first, per tenant or all, with a limit', async () => {
    for (let i = 0; i < 5; i++) await jobs.create(job(`l${i}`, 'listco', 10_000 + i));
    await jobs.create(job('other', 'zeta', 50_000));
    const listed = await jobs.list({ tenant: 'listco' });
    expect(listed.map((j) => j.jobId)).toEqual(['l4', 'l3', 'l2', 'l1', 'l0']);
    expect((await jobs.list({ tenant: 'listco', limit: 2 })).map((j) => j.jobId)).toEqual(['l4', 'l3']);
    const all = await jobs.list();
    expect(all[0]?.jobId).toBe('other');
    expect(all).toHaveLength(9); // j1, j2, counter, l0-l4, other
  });
});
