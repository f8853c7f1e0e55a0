import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Buckets } from '../protocol/resources.ts';
import { openBucket } from './runtime/open-bucket.ts';
import { runtimeEnv, type RuntimeEnv } from './runtime/runtime.fixture.ts';
import { FragmentWaiter } from './fragment-waiter.ts';
import { fileFragmentKey, fragmentKey } from './deps.ts';

/** Far longer than the test's own timeout: a waiter that resolved did so because of the put, not the clock. */
const NEVER = 600_000;

describe('FragmentWaiter', () => {
  let env: RuntimeEnv;
  beforeAll(async () => {
    env = await runtimeEnv();
  });
  afterAll(() => env?.close());

  it('wakes on the put of the awaited fragment, and at once for one put already', async () => {
    const kv = await openBucket(env.nc, Buckets.Fragments);
    await kv.put(fragmentKey('t1', 'job-a', 0), new Uint8Array([1]));
    const waiter = await FragmentWaiter.open(kv, 't1', 'job-a');
    const key = (seq: number) => fragmentKey('t1', 'job-a', seq);
    try {
      await waiter.arrived(key(0), NEVER);
      waiter.forget(key(0));
      const later = waiter.arrived(key(1), NEVER);
      let woke = false;
      void later.then(() => (woke = true));
      // Another job's fragment, and a later fragment of this job, do not wake it.
      await kv.put(fragmentKey('t1', 'job-b', 1), new Uint8Array([1]));
      await kv.put(fragmentKey('t1', 'job-a', 2), new Uint8Array([1]));
      await new Promise((r) => setTimeout(r, 100));
      expect(woke).toBe(false);
      await kv.put(fragmentKey('t1', 'job-a', 1), new Uint8Array([1]));
      await later;
      await waiter.arrived(key(2), NEVER); // put while it waited for 1
      await kv.put(fileFragmentKey('t1', 'job-a', 'ab12'), new Uint8Array([1]));
      await waiter.arrived(fileFragmentKey('t1', 'job-a', 'ab12'), NEVER);
    } finally {
      waiter.close();
      waiter.close();
    }
  }, 10_000);

  it('still resolves after its timeout, and at once once closed', async () => {
    const kv = await openBucket(env.nc, Buckets.Fragments);
    const waiter = await FragmentWaiter.open(kv, 't2', 'job-c');
    await waiter.arrived(fragmentKey('t2', 'job-c', 0), 20);
    const pending = waiter.arrived(fragmentKey('t2', 'job-c', 1), NEVER);
    waiter.close();
    await pending;
    await waiter.arrived(fragmentKey('t2', 'job-c', 5), NEVER);
  }, 10_000);
});
