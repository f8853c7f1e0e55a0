/** runStep: time limit per try, backoff between tries, and only for failures that retrying can help. */
import { describe, expect, it } from 'vitest';
import { FerryError, hasCode } from '../../protocol/errors.ts';
import { runStep } from './step-runner.ts';

const policy = { attempts: 3, baseDelayMs: 20, timeoutMs: 1000 };

describe('runStep', () => {
  it('retries retryable failures with doubling delays, then returns the result', async () => {
    let calls = 0;
    const retries: [number, number][] = [];
    const t0 = Date.now();
    const out = await runStep('pull', policy, async () => {
      if (++calls < 3) throw new FerryError('ssh.unreachable', 'refused', { retryable: true });
      return 'done';
    }, { onRetry: (attempt, _err, delayMs) => retries.push([attempt, delayMs]) });
    expect(out).toBe('done');
    expect(retries).toEqual([[1, 20], [2, 40]]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
  });

  it('gives up at once on a failure that retrying cannot help, and after the last try on others', async () => {
    let calls = 0;
    const missing = await runStep('pull', policy, async () => {
      calls++;
      throw new FerryError('source.missing-path', 'no such directory');
    }).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(hasCode(missing, 'source.missing-path')).toBe(true);
    const flaky = await runStep('pull', policy, async () => {
      throw new FerryError('ssh.timeout', 'no handshake', { retryable: true });
    }).catch((e: unknown) => e as Error);
    expect((flaky as Error).message).toBe('no handshake (after 3 tries)');
  });

  it('stops a try at its time limit through the signal it was given, and says so', async () => {
    let aborted = 0;
    const err = await runStep('pulling directory /srv', { attempts: 2, baseDelayMs: 1, timeoutMs: 50 }, (signal) =>
      new Promise((_resolve, reject) => signal.addEventListener('abort', () => {
        aborted++;
        reject(new Error('killed'));
      })),
    ).catch((e: unknown) => e as Error);
    expect(aborted).toBe(2);
    expect(hasCode(err, 'site.step-timeout')).toBe(true);
    expect((err as Error).message).toBe('pulling directory /srv took longer than 0 s and was stopped (after 2 tries)');
  });

  it('stops between tries when the job is stopped', async () => {
    const stop = new AbortController();
    const p = runStep('pull', { ...policy, baseDelayMs: 10_000 }, async () => {
      throw new FerryError('ssh.unreachable', 'refused', { retryable: true });
    }, { signal: stop.signal });
    setTimeout(() => stop.abort(new Error('shutting down')), 20);
    await expect(p).rejects.toThrow(/shutting down/);
  });
});
