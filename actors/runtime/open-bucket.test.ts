import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Buckets } from '../../protocol/resources.ts';
import { openBucket } from './open-bucket.ts';
import { readsDirect, runtimeEnv, type RuntimeEnv } from './runtime.fixture.ts';

describe('openBucket', () => {
  let env: RuntimeEnv;
  beforeAll(async () => {
    env = await runtimeEnv();
  });
  afterAll(() => env?.close());

  it('reads a single-replica bucket with direct gets, and sees its own writes and deletes at once', async () => {
    const kv = await openBucket(env.nc, Buckets.Fragments);
    expect(readsDirect(kv)).toBe(true);
    for (let i = 0; i < 50; i++) {
      await kv.put(`t.k${i}`, new Uint8Array([i, 1]));
      expect([...((await kv.get(`t.k${i}`))?.value ?? [])]).toEqual([i, 1]);
      await kv.put(`t.k${i}`, new Uint8Array([i, 2]));
      expect([...((await kv.get(`t.k${i}`))?.value ?? [])]).toEqual([i, 2]);
    }
    await kv.delete('t.k0');
    expect((await kv.get('t.k0'))?.operation).toBe('DEL');
    expect(await kv.get('t.missing')).toBeNull();
  });

  it('fails with the stream error for a bucket that does not exist', async () => {
    await expect(openBucket(env.nc, 'no-such-bucket')).rejects.toThrow(/stream not found/i);
  });
});
