import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kvm } from '@nats-io/kv';
import { CheckpointStore } from './checkpoints.ts';
import { runtimeEnv, type RuntimeEnv } from './runtime.fixture.ts';

describe('checkpoints', () => {
  let env: RuntimeEnv;
  let store: CheckpointStore;
  beforeAll(async () => {
    env = await runtimeEnv();
    store = await CheckpointStore.open(env.nc);
  });
  afterAll(() => env?.close());

  it('saves with a revision check and loads msgpack values back', async () => {
    expect(await store.load('acme.j1.scan')).toBeUndefined();
    const value = { pos: ['a', 'b'], batches: 3, raw: new Uint8Array([1, 2]) };
    const r1 = await store.save('acme.j1.scan', value, undefined);
    const loaded = await store.load<typeof value>('acme.j1.scan');
    expect(loaded?.revision).toBe(r1);
    expect(loaded?.value.pos).toEqual(['a', 'b']);
    expect([...loaded!.value.raw]).toEqual([1, 2]);
    const r2 = await store.save('acme.j1.scan', { ...value, batches: 4 }, r1);
    expect(r2).toBeGreaterThan(r1);
  });

  it('refuses a stale or duplicate first write with checkpoint.conflict', async () => {
    const r1 = await store.save('k2', { n: 1 }, undefined);
    await store.save('k2', { n: 2 }, r1);
    await expect(store.save('k2', { n: 3 }, r1)).rejects.toMatchObject({ code: 'checkpoint.conflict', retryable: true });
    await expect(store.save('k2', { n: 3 }, undefined)).rejects.toMatchObject({ code: 'checkpoint.conflict' });
    expect((await store.load<{ n: number }>('k2'))?.value.n).toBe(2);
  });

  it('lets exactly one of several racing writers win', async () => {
    const r = await store.save('race', { by: 'init' }, undefined);
    const results = await Promise.allSettled(['a', 'b', 'c', 'd', 'e'].map((by) => store.save('race', { by }, r)));
    expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
  });

  it('treats removed as absent and validates with parse', async () => {
    const r = await store.save('gone', { n: 1 }, undefined);
    await store.remove('gone', r);
    expect(await store.load('gone')).toBeUndefined();
    await store.save('gone', { n: 2 }, undefined);
    const parse = (v: unknown) => {
      if (typeof (v as { n?: unknown }).n !== 'number') throw new Error('bad');
      return v as { n: number };
    };
    expect((await store.load('gone', parse))?.value.n).toBe(2);
    const kv = await new Kvm(env.nc).open('ferry-checkpoints');
    await kv.put('junk', new Uint8Array([0xc1, 0x92]));
    await expect(store.load('junk')).rejects.toMatchObject({ code: 'kv.corrupt' });
  });
});
