import { describe, expect, it } from 'vitest';
import { collect, describeStorageConformance, rejection } from './conformance.ts';
import { withFaults, type FaultyStorage } from './faults.ts';
import { makeFsFixture } from './fs-fixture.ts';
import { MemoryStorage } from './memory.ts';
import { withRetry, type RetryInfo, type RetryOptions } from './retry.ts';
import { notFound, StorageError, StorageErrorCode, type ObjectInfo, type Storage } from './storage.ts';
import { stubStorage } from './stub.ts';

// 20% of calls fail; 20 attempts make an unrecoverable op (0.2^20) impossible in practice.
const patient: RetryOptions = { maxAttempts: 20, baseDelayMs: 1, maxDelayMs: 4 };
const flaky = { failBefore: 0.2, failAfterSave: 0.1 } as const;

describeStorageConformance('withRetry(withFaults(MemoryStorage, 20%))', async () => {
  const storage = withRetry(withFaults(new MemoryStorage(), { ...flaky, seed: 42 }), patient);
  return { storage, cleanup: () => storage.close() };
});

describeStorageConformance('withRetry(withFaults(FsStorage, 20%))', () =>
  makeFsFixture((fs) => withRetry(withFaults(fs, { ...flaky, seed: 7 }), patient)),
);

function transient(attempt: number): StorageError {
  return new StorageError(StorageErrorCode.Io, `flaky ${attempt}`, { retryable: true, cause: new Error(`socket reset ${attempt}`) });
}

describe('withRetry', () => {
  it('recovers from injected faults that really happen', async () => {
    const faulty: FaultyStorage = withFaults(new MemoryStorage(), { ...flaky, seed: 3 });
    const s = withRetry(faulty, patient);
    for (let i = 0; i < 200; i++) await s.save(`o/${i}`, new Uint8Array([i & 0xff]));
    for (let i = 0; i < 200; i++) expect((await s.load(`o/${i}`))[0]).toBe(i & 0xff);
    expect((await collect(s.list('o/'))).length).toBe(200);
    expect(faulty.faults.before).toBeGreaterThan(40);
    expect(faulty.faults.afterSave).toBeGreaterThan(5);
  });

  it('retries starting a writer and its commit, including a commit whose answer was lost', async () => {
    const faulty: FaultyStorage = withFaults(new MemoryStorage(), { ...flaky, seed: 5 });
    const s = withRetry(faulty, patient);
    for (let i = 0; i < 100; i++) {
      const w = await s.writer();
      await w.write(new Uint8Array([i & 0xff]));
      await w.write(new Uint8Array([7]));
      await w.commit(`w/${i}`);
    }
    for (let i = 0; i < 100; i++) expect([...(await s.load(`w/${i}`))]).toEqual([i & 0xff, 7]);
    expect(faulty.faults.before).toBeGreaterThan(20);
    expect(faulty.faults.afterSave).toBeGreaterThan(3);
  });

  it('gives up after maxAttempts, surfacing the last error as cause', async () => {
    let calls = 0;
    const retries: RetryInfo[] = [];
    const s = withRetry(
      stubStorage({
        stat: async () => {
          throw transient(++calls);
        },
      }),
      { maxAttempts: 3, baseDelayMs: 1, onRetry: (info) => retries.push(info) },
    );
    const err = await rejection(s.stat('x'));
    expect(calls).toBe(3);
    expect(err).toBeInstanceOf(StorageError);
    expect(err.code).toBe(StorageErrorCode.Io);
    const last = err.cause as StorageError;
    expect(last.message).toBe('flaky 3');
    expect((last.cause as Error).message).toBe('socket reset 3');
    expect((err as StorageError).details.attempts).toBe(3);
    expect(retries.map((r) => [r.op, r.name, r.attempt, (r.error as Error).message])).toEqual([
      ['stat', 'x', 1, 'flaky 1'],
      ['stat', 'x', 2, 'flaky 2'],
    ]);
  });

  it('does not retry errors that are not retryable', async () => {
    let calls = 0;
    const final = notFound('x', 'stub:');
    const s = withRetry(
      stubStorage({
        load: async () => {
          calls++;
          throw final;
        },
      }),
    );
    expect(await rejection(s.load('x'))).toBe(final);
    expect(calls).toBe(1);
  });

  it('backs off exponentially with full jitter, capped', async () => {
    const delays: number[] = [];
    let calls = 0;
    const s = withRetry(
      stubStorage({
        remove: async () => {
          if (++calls < 6) throw transient(calls);
        },
      }),
      { maxAttempts: 6, baseDelayMs: 4, maxDelayMs: 20, random: () => 0.5, onRetry: (i) => delays.push(i.delayMs) },
    );
    await s.remove('x');
    expect(delays).toEqual([2, 4, 8, 10, 10]);
  });

  it('retries list only before the first object', async () => {
    const items: ObjectInfo[] = [
      { name: 'a', size: 1 },
      { name: 'b', size: 2 },
    ];
    let calls = 0;
    const failingFirst = withRetry(
      stubStorage({
        async *list() {
          if (++calls === 1) throw transient(1);
          yield* items;
        },
      }),
      { baseDelayMs: 1 },
    );
    expect(await collect(failingFirst.list(''))).toEqual(items);
    expect(calls).toBe(2);

    calls = 0;
    const failingLater = withRetry(
      stubStorage({
        async *list() {
          calls++;
          yield* items.slice(0, 1);
          throw transient(2);
        },
      }),
      { baseDelayMs: 1 },
    );
    const seen: string[] = [];
    const err = await rejection(
      (async () => {
        for await (const item of failingLater.list('')) seen.push(item.name);
      })(),
    );
    expect(err.code).toBe(StorageErrorCode.Io);
    expect(seen).toEqual(['a']);
    expect(calls).toBe(1);
  });

  it('stops waiting when the signal aborts', async () => {
    const controller = new AbortController();
    const reason = new Error('shutting down');
    let calls = 0;
    const s: Storage = withRetry(
      stubStorage({
        stat: async () => {
          throw transient(++calls);
        },
      }),
      { baseDelayMs: 60_000, maxDelayMs: 60_000, random: () => 1, signal: controller.signal, onRetry: () => setTimeout(() => controller.abort(reason), 5) },
    );
    const started = Date.now();
    expect(await rejection(s.stat('x'))).toBe(reason);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(calls).toBe(1);
    expect(await rejection(s.stat('x'))).toBe(reason);
  });
});
