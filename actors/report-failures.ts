/**
 * Wraps a work handler so that a job whose step fails for good is marked
 * failed instead of hanging in `running`: a non-retryable error (or the
 * last allowed delivery) is reported to the coordinator as job.failed, then
 * rethrown so the host dead-letters the message as usual.
 */
import type { ActorContext, ActorMessage } from './runtime/actor-context.ts';
import type { MessageKind } from '../protocol/messages.ts';
import { subjects } from '../protocol/subjects.ts';
import { FerryError } from '../protocol/errors.ts';
import { ConsumerDefaults } from '../protocol/resources.ts';

type JobMessageKind = Extract<MessageKind, `work.${string}`>;

export function reportFailures<K extends JobMessageKind>(step: string, handler: (ctx: ActorContext, msg: ActorMessage<K>) => Promise<void>) {
  return async (ctx: ActorContext, msg: ActorMessage<K>): Promise<void> => {
    try {
      await handler(ctx, msg);
    } catch (err) {
      const fe = err instanceof FerryError ? err : new FerryError(`${step}.failed`, (err as Error).message, { retryable: true, cause: err });
      if (!fe.retryable || msg.deliveryCount >= ConsumerDefaults.maxDeliver) {
        const v = msg.value as { jobId: string; tenant: string };
        await ctx.publish(subjects.job(v.tenant, 'failed'), 'job.failed', { jobId: v.jobId, tenant: v.tenant, error: { ...fe.toWire(), message: `${step}: ${fe.message}` } }).catch(() => {});
      }
      throw fe;
    }
  };
}
