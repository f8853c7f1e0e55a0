/** Publishing a job event (FERRY_EVENTS) from inside a handler. */
import type { ActorContext } from './runtime/actor-context.ts';
import { subjects, type EventType } from '../protocol/subjects.ts';

export async function publishJobEvent(ctx: ActorContext, job: { readonly jobId: string; readonly tenant: string }, type: EventType, data: Record<string, unknown>, actor = 'ferry'): Promise<void> {
  await ctx.publish(subjects.event(job.tenant, job.jobId, type), 'event', { jobId: job.jobId, tenant: job.tenant, type, at: Date.now(), actor, data });
}
