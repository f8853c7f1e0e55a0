/**
 * A small generic pool of worker threads, for CPU-bound work (chunking,
 * hashing, compression, encryption) that must not block the event loop.
 *
 * Main side: `new WorkerPool({ module, size })`, then `run(task, transfer)`.
 * Worker side: the module at `module` calls `serveTasks(handler)` once.
 *
 * Contract:
 * - The workers start on the first run(): a process that never needs them
 *   (a backup in which nothing changed) does not pay for loading their
 *   modules, tens of ms of CPU per thread.
 * - Tasks and results travel by structured clone; ArrayBuffers listed in
 *   `transfer` move instead (the sender's copy is detached).
 * - Dispatch goes to the worker with the fewest unsettled tasks (ties rotate).
 *   A worker handles its tasks concurrently as far as the handler awaits;
 *   synchronous handlers naturally run one at a time.
 * - Back-pressure: at most `maxQueue` tasks (default 2 × size) are posted to
 *   workers and unsettled at any time. Further run() calls wait, unposted,
 *   in the pool's own FIFO until a slot frees up; their promises settle only
 *   after their task ran. Producers that await run() (or keep a bounded
 *   number of run() promises) therefore slow down to the workers' pace.
 * - A handler's thrown error rejects run() with a FerryError carrying the
 *   same code, message, retryable flag and details (non-Ferry errors become
 *   `workers.task-failed`). The remote stack is not carried.
 * - A worker that dies (uncaught exception, process.exit, OOM) rejects each
 *   of its unsettled tasks with `workers.crashed` (retryable: the task may
 *   have been an innocent bystander; callers should bound their retries) and
 *   is replaced. A worker that dies before it started serving (bad module,
 *   syntax error, module never calls serveTasks) fails the whole pool with
 *   `workers.start-failed` rather than respawning in a loop.
 * - close() rejects everything unsettled with `workers.closed`, terminates
 *   the workers, and resolves once they are gone. Safe to call twice; run()
 *   after close() rejects with `workers.closed`.
 *
 * Worker modules are .ts files run by Node's own type stripping, so they
 * (and everything they import) must use explicit `.ts` import extensions and
 * erasable syntax only.
 */
import { Worker, isMainThread, parentPort, threadId, workerData as threadWorkerData } from 'node:worker_threads';
import type { Transferable } from 'node:worker_threads';
import { FerryError, type ErrorDetails, type WireError } from '../../protocol/errors.ts';

export const WorkerErrorCode = {
  Closed: 'workers.closed',
  Crashed: 'workers.crashed',
  StartFailed: 'workers.start-failed',
  TaskFailed: 'workers.task-failed',
  BadTask: 'workers.bad-task',
  BadResult: 'workers.bad-result',
  BadOptions: 'workers.bad-options',
  NotAWorker: 'workers.not-a-worker',
} as const;

export interface WorkerPoolOptions {
  /** The worker module (a file: URL, usually `new URL('./x.ts', import.meta.url)`); it must call serveTasks(). */
  readonly module: URL;
  /** Number of worker threads (>= 1). */
  readonly size: number;
  /** Passed to every worker; available to handlers as ctx.workerData. Must be cloneable. */
  readonly workerData?: unknown;
  /** Most tasks posted to workers and unsettled at once (>= 1, default 2 × size). */
  readonly maxQueue?: number;
}

/** What a handler sees besides its task. */
export interface TaskContext {
  /** The pool's `workerData` option. */
  readonly workerData: unknown;
  /** This worker thread's id (differs after a crash replaced the worker). */
  readonly threadId: number;
}

/** A handler's answer: the result, and which of its ArrayBuffers to move rather than copy. */
export interface TaskOutput<R = unknown> {
  readonly result: R;
  readonly transfer?: readonly Transferable[];
}

/**
 * Handles one task. The result type is deliberately not a type parameter: a
 * handler serving several kinds of task returns different result shapes, and
 * run<T>() on the main side names the type it expects.
 */
export type TaskHandler<T = unknown> = (task: T, ctx: TaskContext) => Promise<TaskOutput> | TaskOutput;

// Messages between pool and worker. `ready` marks the end of start-up.
interface TaskMessage {
  readonly type: 'task';
  readonly id: number;
  readonly task: unknown;
}
type ReplyMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly id: number; readonly result: unknown }
  | { readonly type: 'error'; readonly id: number; readonly error: WireError };

interface Job {
  readonly task: unknown;
  readonly transfer: readonly Transferable[];
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

interface Slot {
  readonly worker: Worker;
  readonly jobs: Map<number, Job>;
  ready: boolean;
  lastError: unknown;
}

export class WorkerPool {
  readonly size: number;
  readonly maxQueue: number;
  readonly #module: URL;
  readonly #workerData: unknown;
  readonly #slots: Slot[] = [];
  readonly #waiting: Job[] = [];
  #inFlight = 0;
  #nextId = 1;
  #rotate = 0;
  #started = false;
  #closing: Promise<void> | undefined;
  #failure: FerryError | undefined;

  constructor(opts: WorkerPoolOptions) {
    const { size } = opts;
    const maxQueue = opts.maxQueue ?? 2 * size;
    if (!Number.isSafeInteger(size) || size < 1 || !Number.isSafeInteger(maxQueue) || maxQueue < 1) {
      throw new FerryError(WorkerErrorCode.BadOptions, `worker pool needs size >= 1 and maxQueue >= 1`, {
        details: { size, maxQueue },
      });
    }
    this.size = size;
    this.maxQueue = maxQueue;
    this.#module = opts.module;
    this.#workerData = opts.workerData;
  }

  /** Tasks posted to workers and not yet settled (never more than maxQueue). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Whether the workers have been started (by the first run()). */
  get started(): boolean {
    return this.#started;
  }

  /** run() calls waiting for a free slot, not yet posted to any worker. */
  get queued(): number {
    return this.#waiting.length;
  }

  /**
   * Runs `task` on some worker and resolves with the handler's result.
   * ArrayBuffers in `transfer` are moved to the worker (detached here).
   */
  run<T>(task: unknown, transfer: readonly Transferable[] = []): Promise<T> {
    if (this.#closing !== undefined) return Promise.reject(closedError());
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (!this.#started) {
      this.#started = true;
      try {
        for (let i = 0; i < this.size; i++) this.#slots.push(this.#spawn());
      } catch (err) {
        this.#failure = err instanceof FerryError ? err : startFailed(this.#module, err);
        void this.#shutdown(() => this.#failure!);
        return Promise.reject(this.#failure);
      }
    }
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({ task, transfer, resolve: resolve as (v: unknown) => void, reject });
      this.#pump();
    });
  }

  /** Rejects unsettled tasks with `workers.closed` and terminates the workers. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown(closedError);
    return this.#closing;
  }

  #spawn(): Slot {
    let worker: Worker;
    try {
      worker = new Worker(this.#module, { workerData: this.#workerData });
    } catch (err) {
      throw startFailed(this.#module, err);
    }
    const slot: Slot = { worker, jobs: new Map(), ready: false, lastError: undefined };
    worker.on('message', (msg: ReplyMessage) => this.#onMessage(slot, msg));
    // Without a listener an 'error' event would throw in the main thread; the
    // error is reported when the 'exit' that always follows arrives.
    worker.on('error', (err) => {
      slot.lastError = err;
    });
    worker.on('exit', (code) => this.#onExit(slot, code));
    return slot;
  }

  #onMessage(slot: Slot, msg: ReplyMessage): void {
    if (msg.type === 'ready') {
      slot.ready = true;
      return;
    }
    const job = slot.jobs.get(msg.id);
    if (job === undefined) return; // already rejected by close()
    slot.jobs.delete(msg.id);
    this.#inFlight--;
    if (msg.type === 'result') job.resolve(msg.result);
    else job.reject(FerryError.fromWire(msg.error));
    this.#pump();
  }

  #onExit(slot: Slot, exitCode: number): void {
    const index = this.#slots.indexOf(slot);
    if (index < 0 || this.#closing !== undefined) return;
    const cause = slot.lastError;
    if (!slot.ready) {
      // Start-up failure: respawning would most likely fail the same way,
      // forever. The dead slot stays in #slots so #shutdown rejects its jobs.
      this.#failure ??= startFailed(this.#module, cause, exitCode);
      void this.#shutdown(() => this.#failure!);
      return;
    }
    const crashed = new FerryError(WorkerErrorCode.Crashed, `worker thread ${slot.worker.threadId} died (exit code ${exitCode})`, {
      retryable: true,
      details: { exitCode, threadId: slot.worker.threadId },
      cause,
    });
    this.#inFlight -= slot.jobs.size;
    for (const job of slot.jobs.values()) job.reject(crashed);
    slot.jobs.clear();
    try {
      this.#slots[index] = this.#spawn();
    } catch (err) {
      this.#slots.splice(index, 1);
      this.#failure ??= err instanceof FerryError ? err : startFailed(this.#module, err);
      void this.#shutdown(() => this.#failure!);
      return;
    }
    this.#pump();
  }

  /** Posts waiting jobs while there is room under maxQueue. */
  #pump(): void {
    while (this.#waiting.length > 0 && this.#inFlight < this.maxQueue && this.#slots.length > 0) {
      const job = this.#waiting.shift()!;
      const slot = this.#leastBusy();
      const id = this.#nextId++;
      const msg: TaskMessage = { type: 'task', id, task: job.task };
      try {
        slot.worker.postMessage(msg, job.transfer);
      } catch (err) {
        job.reject(
          new FerryError(WorkerErrorCode.BadTask, `task cannot be sent to a worker: ${(err as Error)?.message ?? err}`, {
            cause: err,
          }),
        );
        continue;
      }
      slot.jobs.set(id, job);
      this.#inFlight++;
    }
  }

  #leastBusy(): Slot {
    const n = this.#slots.length;
    const start = this.#rotate++ % n;
    let best = this.#slots[start]!;
    for (let k = 1; k < n; k++) {
      const s = this.#slots[(start + k) % n]!;
      if (s.jobs.size < best.jobs.size) best = s;
    }
    return best;
  }

  async #shutdown(reason: () => FerryError): Promise<void> {
    const waiting = this.#waiting.splice(0);
    for (const job of waiting) job.reject(reason());
    const slots = this.#slots.splice(0);
    for (const slot of slots) {
      for (const job of slot.jobs.values()) job.reject(reason());
      slot.jobs.clear();
    }
    this.#inFlight = 0;
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}

function closedError(): FerryError {
  return new FerryError(WorkerErrorCode.Closed, 'worker pool is closed');
}

function startFailed(module: URL, cause: unknown, exitCode?: number): FerryError {
  const why = cause instanceof Error ? `: ${cause.message}` : exitCode === undefined ? '' : ` (exit code ${exitCode})`;
  return new FerryError(WorkerErrorCode.StartFailed, `worker ${module.href} failed to start${why}`, {
    details: { module: module.href, exitCode },
    cause,
  });
}

/**
 * Worker side: serves the pool's tasks with `handler`. Call exactly once, at
 * the top level of the worker module. Throws `workers.not-a-worker` on the
 * main thread.
 */
export function serveTasks<T = unknown>(handler: TaskHandler<T>): void {
  const port = parentPort;
  if (isMainThread || port === null) {
    throw new FerryError(WorkerErrorCode.NotAWorker, 'serveTasks() must run inside a worker thread');
  }
  const ctx: TaskContext = { workerData: threadWorkerData, threadId };
  const reply = (msg: ReplyMessage, transfer: readonly Transferable[] = []): void => port.postMessage(msg, transfer);

  const serve = async (msg: TaskMessage): Promise<void> => {
    let out: TaskOutput;
    try {
      out = await handler(msg.task as T, ctx);
    } catch (err) {
      reply({ type: 'error', id: msg.id, error: toWireError(err) });
      return;
    }
    try {
      reply({ type: 'result', id: msg.id, result: out.result }, out.transfer ?? []);
    } catch (err) {
      const error = new FerryError(WorkerErrorCode.BadResult, `task result cannot be sent back: ${(err as Error)?.message ?? err}`);
      reply({ type: 'error', id: msg.id, error: error.toWire() });
    }
  };

  port.on('message', (msg: TaskMessage) => {
    void serve(msg);
  });
  reply({ type: 'ready' });
}

/** Wire shape of anything a handler throws; FerryErrors keep code, retryable and details. */
function toWireError(err: unknown): WireError {
  if (err instanceof FerryError) return { ...err.toWire(), details: plainDetails(err.details) };
  const e = err as { code?: unknown; message?: unknown; retryable?: unknown; details?: unknown; name?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  // A FerryError from another copy of errors.ts still has the same shape.
  if (typeof e?.code === 'string' && typeof (e as { toWire?: unknown }).toWire === 'function') {
    return { code: e.code, message, retryable: e.retryable === true, details: plainDetails(e.details) };
  }
  return {
    code: WorkerErrorCode.TaskFailed,
    message,
    retryable: false,
    details: {
      name: typeof e?.name === 'string' ? e.name : typeof err,
      errno: typeof e?.code === 'string' ? e.code : undefined,
    },
  };
}

/** Keeps only cloneable primitive values, so a stray object in details cannot break the reply. */
function plainDetails(details: unknown): ErrorDetails {
  const out: ErrorDetails = {};
  if (typeof details !== 'object' || details === null) return out;
  for (const [k, v] of Object.entries(details)) {
    if (v === null || v === undefined || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  return out;
}
