/** Publishing a job event (FERRY_EVENTS) from inside a handler. */
import type { ActorContext } from './runtime/actor-context.ts';
import { hostname } from 'node:os';
import { subjects, type EventType } from '../protocol/subjects.ts';

/** Which process did the work: lets `ferry events` show replicas sharing a job. */
const WORKER = `${hostname()}:${process.pid}`;

export async function publishJobEvent(ctx: ActorContext, job: { readonly jobId: string; readonly tenant: string }, type: EventType, data: Record<string, unknown>, actor = 'ferry'): Promise<void> {
  await ctx.publish(subjects.event(job.tenant, job.jobId, type), 'event', { jobId: job.jobId, tenant: job.tenant, type, at: Date.now(), actor, data: { ...data, worker: WORKER } });
}
