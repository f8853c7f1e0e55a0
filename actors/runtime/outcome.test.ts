import { describe, expect, it } from 'vitest';
import { FerryError } from '../../protocol/errors.ts';
import { backoffDelay, settle } from './outcome.ts';

const policy = { initialMs: 1000, maxMs: 60_000, maxDeliver: 20 };

describe('settle', () => {
  it('backs off exponentially, capped', () => {
    expect([1, 2, 3, 4, 6, 7, 8, 20, 1000].map((n) => backoffDelay(n, policy))).toEqual([1000, 2000, 4000, 8000, 32_000, 60_000, 60_000, 60_000, 60_000]);
  });

  it('acks, naks and dead-letters by outcome', () => {
    expect(settle({ outcome: undefined }, 1, policy, false)).toEqual({ action: 'ack' });
    expect(settle({ outcome: { ack: true } }, 1, policy, false)).toEqual({ action: 'ack' });
    expect(settle({ outcome: { nak: { delayMs: 250 } } }, 1, policy, false)).toEqual({ action: 'nak', delayMs: 250 });
    expect(settle({ outcome: { nak: { delayMs: 250 } } }, 20, policy, false)).toMatchObject({ action: 'dead-letter', code: 'actor.max-deliveries' });
    expect(settle({ outcome: { term: { reason: 'no' } } }, 1, policy, false)).toEqual({ action: 'dead-letter', code: 'actor.terminated', reason: 'no' });
  });

  it('retries retryable and unknown errors, dead-letters the rest', () => {
    expect(settle({ error: new FerryError('x.busy', 'busy', { retryable: true }) }, 3, policy, false)).toEqual({ action: 'nak', delayMs: 4000 });
    expect(settle({ error: new TypeError('boom') }, 1, policy, false)).toEqual({ action: 'nak', delayMs: 1000 });
    expect(settle({ error: new FerryError('repo.corrupt', 'bad pack') }, 1, policy, false)).toEqual({ action: 'dead-letter', code: 'repo.corrupt', reason: 'bad pack' });
    const last = settle({ error: new FerryError('x.busy', 'busy', { retryable: true }) }, 20, policy, false);
    expect(last).toEqual({ action: 'dead-letter', code: 'actor.max-deliveries', reason: 'gave up after 20 deliveries: [x.busy] busy' });
    expect(settle({ error: new TypeError('boom') }, 20, { ...policy, maxDeliver: -1 }, false)).toMatchObject({ action: 'nak' });
  });

  it('hands a cancelled handler\'s message straight back', () => {
    expect(settle({ error: new FerryError('repo.corrupt', 'x') }, 20, policy, true)).toEqual({ action: 'nak', delayMs: 0 });
  });
});
