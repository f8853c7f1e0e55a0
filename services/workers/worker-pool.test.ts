import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FerryError, hasCode } from '../../protocol/errors.ts';
import { WorkerPool, serveTasks } from './worker-pool.ts';

// vitest transforms this file, but the worker threads run the fixture with
// Node's own type stripping, straight from disk.
const FIXTURE = new URL('./echo-task.fixture.ts', import.meta.url);

const pools: WorkerPool[] = [];
function pool(opts: Partial<ConstructorParameters<typeof WorkerPool>[0]> = {}): WorkerPool {
  const p = new WorkerPool({ module: FIXTURE, size: 2, ...opts });
  pools.push(p);
  return p;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('WorkerPool', () => {
  it('runs tasks and returns results', async () => {
    const p = pool({ size: 3 });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => p.run<number>({ op: 'double', n: i })));
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
    expect(p.inFlight).toBe(0);
    expect(p.queued).toBe(0);
  });

  it('spreads work over the workers', async () => {
    const p = pool({ size: 2, maxQueue: 4 });
    const ids = await Promise.all(
      Array.from({ length: 4 }, async () => {
        await p.run({ op: 'sleep', ms: 20 });
        return p.run<number>({ op: 'whoami' });
      }),
    );
    const slow = await Promise.all(Array.from({ length: 4 }, () => p.run<number>({ op: 'whoami' })));
    expect(new Set([...ids, ...slow]).size).toBe(2);
  });

  it('transfers ArrayBuffers both ways, detaching the source', async () => {
    const p = pool();
    const buf = new ArrayBuffer(1 << 20);
    new Uint8Array(buf).fill(7, 0, 100);
    const back = await p.run<ArrayBuffer>({ op: 'echo', buf }, [buf]);
    expect(buf.byteLength).toBe(0);
    expect((buf as ArrayBuffer & { detached?: boolean }).detached).toBe(true);
    expect(back.byteLength).toBe(1 << 20);
    expect(new Uint8Array(back)[99]).toBe(7);
    expect(new Uint8Array(back)[100]).toBe(0);
  });

  it('copies when nothing is transferred', async () => {
    const p = pool();
    const buf = new ArrayBuffer(16);
    const back = await p.run<ArrayBuffer>({ op: 'echo', buf });
    expect(buf.byteLength).toBe(16);
    expect(back.byteLength).toBe(16);
  });

  it('propagates FerryErrors with code, message, retryable and details', async () => {
    const p = pool();
    const err = await rejection(
      p.run({ op: 'throw', code: 'test.boom', message: 'it blew up', details: { a: 1, b: 'x' }, retryable: true }),
    );
    expect(err).toBeInstanceOf(FerryError);
    expect(err).toMatchObject({ code: 'test.boom', message: 'it blew up', retryable: true, details: { a: 1, b: 'x' } });
    // The worker is still fine.
    expect(await p.run({ op: 'double', n: 4 })).toBe(8);
  });

  it('wraps other errors as workers.task-failed', async () => {
    const p = pool();
    const err = await rejection(p.run({ op: 'throw-plain', message: 'not a ferry error' }));
    expect(err).toMatchObject({ code: 'workers.task-failed', message: 'not a ferry error', details: { name: 'TypeError' } });
  });

  it('rejects tasks and results that cannot be cloned', async () => {
    const p = pool();
    expect(hasCode(await rejection(p.run({ op: 'double', n: 1, f: () => 1 })), 'workers.bad-task')).toBe(true);
    expect(hasCode(await rejection(p.run({ op: 'unsendable' })), 'workers.bad-result')).toBe(true);
    expect(p.inFlight).toBe(0);
    expect(await p.run({ op: 'double', n: 21 })).toBe(42);
  });

  it('rejects the in-flight tasks of a crashed worker and replaces it', async () => {
    const p = pool({ size: 1, maxQueue: 4 });
    const before = await p.run<number>({ op: 'whoami' });
    const bystander = p.run({ op: 'sleep', ms: 2000 });
    const crash = p.run({ op: 'crash', exitCode: 9, afterMs: 20 });
    const [e1, e2] = await Promise.all([rejection(crash), rejection(bystander)]);
    for (const e of [e1, e2]) {
      expect(e).toBeInstanceOf(FerryError);
      expect(e).toMatchObject({ code: 'workers.crashed', retryable: true, details: { exitCode: 9 } });
    }
    expect(p.inFlight).toBe(0);
    const after = await p.run<number>({ op: 'whoami' });
    expect(after).not.toBe(before);
    expect(await p.run({ op: 'double', n: 5 })).toBe(10);
  });

  it('keeps dispatching queued work across a crash', async () => {
    const p = pool({ size: 2, maxQueue: 2 });
    const crash = rejection(p.run({ op: 'crash', afterMs: 10 }));
    const concurrent = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => p.run<number>({ op: 'double', n: i })),
    );
    expect(hasCode(await crash, 'workers.crashed')).toBe(true);
    // Tasks that happened to share the dying worker may fail; nothing hangs and
    // failures are only ever crash reports.
    for (const s of concurrent) {
      if (s.status === 'rejected') expect(hasCode(s.reason, 'workers.crashed')).toBe(true);
    }
    expect(concurrent.filter((s) => s.status === 'fulfilled').length).toBeGreaterThan(0);
    const after = await Promise.all(Array.from({ length: 20 }, (_, i) => p.run<number>({ op: 'double', n: i })));
    expect(after).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
  });

  it('applies back-pressure: never more than maxQueue tasks in flight', async () => {
    const stats = new SharedArrayBuffer(8);
    const counters = new Int32Array(stats);
    const p = pool({ size: 2, maxQueue: 3, workerData: { stats } });
    await Promise.all([p.run({ op: 'whoami' }), p.run({ op: 'whoami' })]); // both workers up
    let maxSeen = 0;
    const all = Array.from({ length: 24 }, (_, i) =>
      p.run<number>({ op: 'sleep', ms: 30 + (i % 3) * 10 }).then((v) => {
        maxSeen = Math.max(maxSeen, p.inFlight);
        return v;
      }),
    );
    // Right after submitting, only maxQueue tasks were posted; the rest wait unposted.
    expect(p.inFlight).toBe(3);
    expect(p.queued).toBe(21);
    await Promise.all(all);
    // Observed inside the workers, across threads: real concurrency, capped.
    expect(Atomics.load(counters, 1)).toBeLessThanOrEqual(3);
    expect(Atomics.load(counters, 1)).toBeGreaterThanOrEqual(2);
    expect(Atomics.load(counters, 0)).toBe(0);
    expect(maxSeen).toBeLessThanOrEqual(3);
    expect(p.queued).toBe(0);
  });

  it('close() rejects pending tasks with workers.closed and is safe to call twice', async () => {
    const p = pool({ size: 1, maxQueue: 1 });
    const running = rejection(p.run({ op: 'sleep', ms: 5000 }));
    const waiting = rejection(p.run({ op: 'double', n: 1 }));
    expect(p.inFlight).toBe(1);
    expect(p.queued).toBe(1);
    const c1 = p.close();
    const c2 = p.close();
    expect(c2).toBe(c1);
    await c1;
    await p.close();
    expect(hasCode(await running, 'workers.closed')).toBe(true);
    expect(hasCode(await waiting, 'workers.closed')).toBe(true);
    expect(hasCode(await rejection(p.run({ op: 'double', n: 1 })), 'workers.closed')).toBe(true);
  });

  it('fails with workers.start-failed when the module cannot start, instead of respawning', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-pool-'));
    try {
      const broken = join(dir, 'broken.ts');
      await writeFile(broken, 'throw new Error("cannot load");\n');
      const p = pool({ module: pathToFileURL(broken), size: 2 });
      const err = await rejection(p.run({ op: 'double', n: 1 }));
      expect(hasCode(err, 'workers.start-failed')).toBe(true);
      expect(hasCode(await rejection(p.run({ op: 'double', n: 1 })), 'workers.start-failed')).toBe(true);

      const silent = join(dir, 'silent.ts');
      await writeFile(silent, 'export {};\n'); // never calls serveTasks
      const q = pool({ module: pathToFileURL(silent), size: 1 });
      expect(hasCode(await rejection(q.run({ op: 'double', n: 1 })), 'workers.start-failed')).toBe(true);

      const missing = pool({ module: pathToFileURL(join(dir, 'missing.ts')), size: 1 });
      expect(hasCode(await rejection(missing.run({})), 'workers.start-failed')).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('validates options', () => {
    expect(() => new WorkerPool({ module: FIXTURE, size: 0 })).toThrow(expect.objectContaining({ code: 'workers.bad-options' }));
    expect(() => new WorkerPool({ module: FIXTURE, size: 1, maxQueue: 0 })).toThrow(
      expect.objectContaining({ code: 'workers.bad-options' }),
    );
  });

  it('serveTasks refuses to run on the main thread', () => {
    expect(() => serveTasks(() => ({ result: 1 }))).toThrow(expect.objectContaining({ code: 'workers.not-a-worker' }));
  });
});
