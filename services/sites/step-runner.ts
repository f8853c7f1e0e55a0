/**
 * One step of a site job (a target's pull) under a time limit, retried
 * with exponential backoff while its failures say retrying may help
 * (`retryable`: a dropped connection, a timeout; not a missing path or a
 * refused key). The caller's signal stops it between and within attempts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { FerryError } from '../../protocol/errors.ts';

export interface StepPolicy {
  /** Tries in all, at least 1. */
  readonly attempts: number;
  /** Wait before the second try; doubled before each later one. */
  readonly baseDelayMs: number;
  /** Limit of one try. */
  readonly timeoutMs: number;
}

export const DEFAULT_STEP_POLICY: StepPolicy = Object.freeze({ attempts: 3, baseDelayMs: 5_000, timeoutMs: 60 * 60_000 });

export async function runStep<T>(
  name: string,
  policy: StepPolicy,
  fn: (signal: AbortSignal) => Promise<T>,
  opts: { signal?: AbortSignal; onRetry?: (attempt: number, err: Error, delayMs: number) => void } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    const timeout = AbortSignal.timeout(policy.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let err: Error;
    try {
      return await fn(signal);
    } catch (e) {
      opts.signal?.throwIfAborted();
      err = timeout.aborted
        ? new FerryError('site.step-timeout', `${name} took longer than ${Math.round(policy.timeoutMs / 1000)} s and was stopped`, { retryable: true, cause: e })
        : (e as Error);
    }
    const retryable = err instanceof FerryError && err.retryable;
    if (!retryable || attempt >= policy.attempts) {
      if (attempt > 1) err.message = `${err.message} (after ${attempt} tries)`;
      throw err;
    }
    const delayMs = policy.baseDelayMs * 2 ** (attempt - 1);
    opts.onRetry?.(attempt, err, delayMs);
    // Stopped while waiting: the job's own reason, not the timer's AbortError.
    await sleep(delayMs, undefined, opts.signal ? { signal: opts.signal } : {}).catch((e: unknown) => {
      opts.signal?.throwIfAborted();
      throw e;
    });
  }
}
