/**
 * Test-only worker module for worker-pool.test.ts. Runs as plain Node (type
 * stripping), outside vitest's transform: explicit .ts imports only.
 *
 * workerData: { stats?: SharedArrayBuffer } — an Int32Array [running, maxRunning]
 * shared by all workers, so the test can see real concurrency across threads.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { FerryError } from '../../protocol/errors.ts';
import { serveTasks, type TaskOutput } from './worker-pool.ts';

export type EchoTask =
  | { readonly op: 'double'; readonly n: number }
  | { readonly op: 'echo'; readonly buf: ArrayBuffer }
  | { readonly op: 'throw'; readonly code: string; readonly message: string; readonly details?: Record<string, number | string>; readonly retryable?: boolean }
  | { readonly op: 'throw-plain'; readonly message: string }
  | { readonly op: 'crash'; readonly exitCode?: number; readonly afterMs?: number }
  | { readonly op: 'sleep'; readonly ms: number }
  | { readonly op: 'whoami' }
  | { readonly op: 'unsendable' };

serveTasks<EchoTask>(async (task, ctx): Promise<TaskOutput> => {
  switch (task.op) {
    case 'double':
      return { result: task.n * 2 };
    case 'echo':
      // Move the buffer back: both directions transfer, nothing is copied.
      return { result: task.buf, transfer: [task.buf] };
    case 'throw':
      throw new FerryError(task.code, task.message, { retryable: task.retryable ?? false, details: task.details ?? {} });
    case 'throw-plain':
      throw new TypeError(task.message);
    case 'crash':
      if (task.afterMs !== undefined) await sleep(task.afterMs);
      process.exit(task.exitCode ?? 3); // never returns, so no fallthrough
    case 'sleep': {
      const stats = (ctx.workerData as { stats?: SharedArrayBuffer } | undefined)?.stats;
      const counters = stats === undefined ? undefined : new Int32Array(stats);
      if (counters !== undefined) {
        const running = Atomics.add(counters, 0, 1) + 1;
        for (let max = Atomics.load(counters, 1); running > max; max = Atomics.load(counters, 1)) {
          if (Atomics.compareExchange(counters, 1, max, running) === max) break;
        }
      }
      await sleep(task.ms);
      if (counters !== undefined) Atomics.sub(counters, 0, 1);
      return { result: task.ms };
    }
    case 'whoami':
      return { result: ctx.threadId };
    case 'unsendable':
      return { result: () => 1 };
  }
});
