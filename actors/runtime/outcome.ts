/**
 * What a handler's result means for its message. Kept pure (no NATS) so the
 * retry and dead-letter rules can be read and tested in one place:
 *
 * - returned nothing or `{ ack: true }` → ack;
 * - `{ nak: { delayMs } }` → redeliver after the delay;
 * - `{ term: { reason } }` → dead-letter with the reason, then term;
 * - threw a FerryError with retryable=false → dead-letter with its code, then term;
 * - threw anything else (retryable FerryError, or a plain Error, which is
 *   assumed transient: a library's network error is not a FerryError) →
 *   nak with exponential backoff by delivery count (1 s, 2 s, 4 s … 60 s);
 * - a redelivery that would exceed max_deliver becomes a dead letter instead,
 *   because the server would otherwise stop delivering it silently;
 * - anything that fails after shutdown cancelled the handler → nak(0), so
 *   another replica takes it at once.
 */
import { FerryError } from '../../protocol/errors.ts';
import { RuntimeErrorCode } from './errors.ts';

export type Outcome =
  | { readonly ack: true }
  | { readonly nak: { readonly delayMs: number } }
  | { readonly term: { readonly reason: string } };

export const Outcomes = {
  ack: { ack: true } as Outcome,
  nak: (delayMs: number): Outcome => ({ nak: { delayMs } }),
  term: (reason: string): Outcome => ({ term: { reason } }),
} as const;

export interface RetryPolicy {
  /** Delay before the second delivery; doubles per delivery. */
  readonly initialMs: number;
  readonly maxMs: number;
  /** The consumer's max_deliver (-1 or 0 = unlimited). */
  readonly maxDeliver: number;
}

export type Settlement =
  | { readonly action: 'ack' }
  | { readonly action: 'nak'; readonly delayMs: number }
  | { readonly action: 'dead-letter'; readonly code: string; readonly reason: string };

export type HandlerResult = { readonly outcome: Outcome | void } | { readonly error: unknown };

export function backoffDelay(deliveryCount: number, policy: Pick<RetryPolicy, 'initialMs' | 'maxMs'>): number {
  const exp = Math.min(Math.max(deliveryCount - 1, 0), 30);
  return Math.min(policy.initialMs * 2 ** exp, policy.maxMs);
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

export function settle(result: HandlerResult, deliveryCount: number, policy: RetryPolicy, cancelled: boolean): Settlement {
  const lastTry = policy.maxDeliver > 0 && deliveryCount >= policy.maxDeliver;
  const retry = (delayMs: number, why: string): Settlement =>
    lastTry
      ? { action: 'dead-letter', code: RuntimeErrorCode.MaxDeliveries, reason: `gave up after ${deliveryCount} deliveries: ${why}` }
      : { action: 'nak', delayMs: Math.max(0, Math.floor(delayMs)) };

  if ('error' in result) {
    const err = result.error;
    if (cancelled) return { action: 'nak', delayMs: 0 };
    if (err instanceof FerryError && !err.retryable) return { action: 'dead-letter', code: err.code, reason: describe(err) };
    const code = err instanceof FerryError ? err.code : RuntimeErrorCode.HandlerFailed;
    return retry(backoffDelay(deliveryCount, policy), `[${code}] ${describe(err)}`);
  }
  const o = result.outcome;
  if (o === undefined || 'ack' in o) return { action: 'ack' };
  if ('nak' in o) return retry(o.nak.delayMs, 'handler asked for redelivery');
  return { action: 'dead-letter', code: RuntimeErrorCode.Terminated, reason: o.term.reason || 'terminated by handler' };
}
