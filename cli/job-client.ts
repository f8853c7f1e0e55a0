/**
 * Submitting a job and waiting for it: the CLI publishes job.submit to the
 * coordinator, shows progress events, and polls the job record until it is
 * terminal (so a reconnect or a missed event never loses the ending). A
 * state event wakes the poll at once, so a short job does not wait out a
 * backed-off poll interval.
 */
import { randomBytes } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { encode, decode } from '../protocol/codec.ts';
import { subjects, filters } from '../protocol/subjects.ts';
import type { JobType } from '../protocol/messages.ts';
import { JobStore, type JobRecord } from '../actors/runtime/job-store.ts';
import type { Runtime } from './runtime.ts';
import type { ProgressLine } from './progress.ts';

export const newJobId = (): string => `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;

const TERMINAL = new Set(['success', 'warning', 'failed']);

export interface JobOutcome {
  readonly record: JobRecord;
  /** The `data` of the final state event, when it arrived (summary, errors, problems). */
  readonly final: Record<string, unknown> | undefined;
}

export async function runJob(rt: Runtime, job: { tenant: string; type: JobType; repoId: string; spec: Record<string, unknown> }, bar: ProgressLine): Promise<JobOutcome> {
  const jobId = newJobId();
  let final: Record<string, unknown> | undefined;
  let wake: (() => void) | undefined;
  const sub = rt.nc.subscribe(filters.events({ tenant: job.tenant, jobId }));
  void (async () => {
    for await (const m of sub) {
      try {
        const e = decode(m.data, m.headers);
        if (e.kind !== 'event') continue;
        const d = e.value.data;
        if (e.value.type === 'state' && TERMINAL.has(String(d.state))) final = d;
        if (e.value.type === 'state') wake?.();
        if (e.value.type === 'progress') bar.update(Object.entries(d).map(([k, v]) => `${k} ${String(v)}`).join('  '));
      } catch {
        // A malformed event only costs a progress update.
      }
    }
  })();
  try {
    const js = jetstream(rt.nc);
    const msg = encode('job.submit', { jobId, tenant: job.tenant, type: job.type, repoId: job.repoId, spec: job.spec, requestedAt: Date.now() });
    await js.publish(subjects.job(job.tenant, 'submit'), msg.data, { headers: msg.headers, msgID: `${jobId}-submit` });
    const jobs = await JobStore.open(rt.nc);
    for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
      const record = await jobs.get(job.tenant, jobId).catch(() => undefined);
      if (record && TERMINAL.has(record.state)) {
        // The final event is published right after the record changes; give it a moment to arrive.
        for (let i = 0; i < 20 && !final; i++) await new Promise((r) => setTimeout(r, 25));
        return { record, final };
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    sub.unsubscribe();
    bar.done();
  }
}
