/**
 * The scheduler runs beside the coordinator. Of all coordinator replicas,
 * only the holder of the `coordinator-leader` lease fires schedules; the
 * lease expires by itself if the leader dies, so a standby takes over with
 * no lock to clear. Each due run is submitted with a message ID derived
 * from the schedule and its due time, and recorded with a revision check,
 * so a leader change never runs the same due time twice.
 */
import type { Logger } from 'pino';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream } from '@nats-io/jetstream';
import { openBucket } from './runtime/open-bucket.ts';
import { hostname } from 'node:os';
import { Buckets } from '../protocol/resources.ts';
import { subjects } from '../protocol/subjects.ts';
import { encode } from '../protocol/codec.ts';
import { Leases } from './runtime/leases.ts';
import { LeaseKeeper } from './runtime/lease-keeper.ts';
import { ScheduleStore, nextRun } from './schedules.ts';

export const LEADER_KEY = 'coordinator-leader';
const LEASE_TTL_MS = 15_000;
const TICK_MS = 5_000;

/** Resolves after `ms`, or at once when `signal` aborts, so shutdown never waits a whole tick. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

export interface Scheduler {
  close(): Promise<void>;
}

export async function startScheduler(opts: { nc: NatsConnection; logger: Logger; tickMs?: number }): Promise<Scheduler> {
  const log = opts.logger.child({ component: 'scheduler' });
  const leases = await Leases.open(opts.nc);
  const store = new ScheduleStore(await openBucket(opts.nc, Buckets.Schedules));
  const js = jetstream(opts.nc);
  const stop = new AbortController();
  const holder = `${hostname()}:${process.pid}`;

  async function fireDue(): Promise<void> {
    const now = Date.now();
    for (const { schedule: s, revision } of await store.list()) {
      const due = nextRun(s.cron, new Date(s.lastDueAt ?? s.createdAt));
      if (!due || due.getTime() > now) continue;
      const dueAt = due.getTime();
      if (!(await store.markRun(s, revision, dueAt))) continue;
      const jobId = `s-${s.name}-${dueAt.toString(36)}`.slice(0, 64);
      const msg = encode('job.submit', { jobId, tenant: s.tenant, type: s.type, repoId: s.repoId, spec: s.spec, requestedAt: now });
      await js.publish(subjects.job(s.tenant, 'submit'), msg.data, { headers: msg.headers, msgID: jobId });
      log.info({ schedule: s.name, jobId, due: due.toISOString() }, 'scheduled job submitted');
    }
  }

  const loop = (async () => {
    while (!stop.signal.aborted) {
      let keeper: LeaseKeeper | undefined;
      try {
        keeper = await LeaseKeeper.acquire({ leases, key: LEADER_KEY, holder, ttlMs: LEASE_TTL_MS, log }, stop.signal);
        log.info({ holder }, 'leading: this coordinator fires schedules');
        while (!stop.signal.aborted && !keeper.signal.aborted) {
          await fireDue().catch((err: unknown) => log.warn({ err }, 'schedule tick failed'));
          await sleep(opts.tickMs ?? TICK_MS, stop.signal);
        }
      } catch (err) {
        if (!stop.signal.aborted) log.warn({ err }, 'scheduler lost its footing; retrying');
      } finally {
        await keeper?.close().catch(() => {});
      }
    }
  })();

  let closed = false;
  return {
    async close() {
      if (closed) return;
      closed = true;
      stop.abort();
      await loop;
    },
  };
}
