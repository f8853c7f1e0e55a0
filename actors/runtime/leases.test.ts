import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kvm } from '@nats-io/kv';
import { LeaseKeeper } from './lease-keeper.ts';
import { Leases } from './leases.ts';
import { runtimeEnv, waitFor, type RuntimeEnv } from './runtime.fixture.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('leases', () => {
  let env: RuntimeEnv;
  let leases: Leases;
  beforeAll(async () => {
    env = await runtimeEnv();
    leases = await Leases.open(env.nc);
  });
  afterAll(() => env?.close());

  it('gives a contended lease to exactly one holder', async () => {
    for (let round = 0; round < 10; round++) {
      const key = `contended-${round}`;
      const results = await Promise.all(['a', 'b', 'c', 'd'].map((h) => leases.acquire(key, h, 5000)));
      const winners = results.filter((r) => r !== undefined);
      expect(winners).toHaveLength(1);
      expect((await leases.read(key))?.holder).toBe(winners[0]!.holder);
    }
  });

  it('lets the holder renew and re-acquire, and refuses others while live', async () => {
    const a = await leases.acquire('site.acme.s1', 'a', 5000);
    expect(a).toBeDefined();
    expect(await leases.acquire('site.acme.s1', 'b', 5000)).toBeUndefined();
    const renewed = await leases.renew(a!);
    expect(renewed.revision).toBeGreaterThan(a!.revision);
    expect(renewed.acquiredAt).toBe(a!.acquiredAt);
    const again = await leases.acquire('site.acme.s1', 'a', 5000);
    expect(again?.acquiredAt).toBe(a!.acquiredAt);
    await leases.release(again!);
    expect(await leases.read('site.acme.s1')).toBeUndefined();
    const b = await leases.acquire('site.acme.s1', 'b', 5000);
    expect(b?.holder).toBe('b');
    await leases.release(a!); // stale: a no-op
    expect((await leases.read('site.acme.s1'))?.holder).toBe('b');
  });

  it('takes over an expired lease without anyone clearing it', async () => {
    const a = await leases.acquire('expiring', 'a', 300);
    expect(await leases.acquire('expiring', 'b', 300)).toBeUndefined();
    await sleep(350);
    const b = await leases.acquire('expiring', 'b', 5000);
    expect(b?.holder).toBe('b');
    await expect(leases.renew(a!)).rejects.toMatchObject({ code: 'lease.lost' });
  });

  it('keeps a lease alive, and another process takes it once the keeper dies', async () => {
    const ncA = await env.connect();
    const leasesA = await Leases.open(ncA);
    const lost: string[] = [];
    let noticedAt = 0;
    const onLost = (e: { code: string }) => {
      noticedAt = Date.now();
      lost.push(e.code);
    };
    const keeper = await LeaseKeeper.tryAcquire({ leases: leasesA, key: 'coordinator', holder: 'proc-a', ttlMs: 600, onLost });
    expect(keeper).toBeDefined();
    // Renewals keep it across several TTLs.
    await sleep(1500);
    expect(await leases.acquire('coordinator', 'proc-b', 600)).toBeUndefined();
    expect(keeper!.signal.aborted).toBe(false);

    // Process A loses NATS: it must notice before B can take over.
    const waiting = LeaseKeeper.acquire({ leases, key: 'coordinator', holder: 'proc-b', ttlMs: 600 });
    await ncA.close();
    const b = await waiting;
    expect(b.lease.holder).toBe('proc-b');
    // A stopped believing it was the holder before B became it.
    expect(keeper!.signal.aborted).toBe(true);
    expect(noticedAt).toBeGreaterThan(0);
    expect(noticedAt).toBeLessThanOrEqual(b.lease.acquiredAt);
    expect(lost).toEqual(['lease.lost']);
    await b.close();
    await b.close();
    expect(await leases.read('coordinator')).toBeUndefined();
  });

  it('reports a lease taken away under a keeper', async () => {
    const keeper = await LeaseKeeper.tryAcquire({ leases, key: 'stolen', holder: 'a', ttlMs: 600 });
    const kv = await new Kvm(env.nc).open('ferry-leases');
    await kv.delete('stolen');
    await waitFor('loss noticed', () => keeper!.signal.aborted, 2000);
    expect(keeper!.signal.reason).toMatchObject({ code: 'lease.lost' });
    await keeper!.close();
  });
});
