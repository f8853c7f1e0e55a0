/**
 * Schedules: jobs submitted on a cron expression, kept in the
 * `ferry-schedules` KV bucket (one record per `<tenant>.<name>`). The
 * coordinator's leader (scheduler.ts) fires them; anyone may edit them.
 */
import type { KV } from '@nats-io/kv';
import { Cron } from 'croner';
import { Packr } from 'msgpackr';
import { assertId } from '../protocol/subjects.ts';
import { FerryError } from '../protocol/errors.ts';
import type { JobType } from '../protocol/messages.ts';

export interface Schedule {
  readonly name: string;
  readonly tenant: string;
  readonly cron: string;
  readonly type: JobType;
  readonly repoId: string;
  readonly spec: Record<string, unknown>;
  readonly createdAt: number;
  /** The due time of the last run submitted (ms), so a new leader does not run it again. */
  readonly lastDueAt?: number | undefined;
}

const packr = new Packr({ useRecords: false });

/** Throws a usage-grade FerryError when the expression is not valid cron. */
export function nextRun(cron: string, after: Date): Date | undefined {
  try {
    return new Cron(cron, { paused: true }).nextRun(after) ?? undefined;
  } catch (cause) {
    throw new FerryError('schedule.bad-cron', `${JSON.stringify(cron)} is not a cron expression (e.g. "0 2 * * *" for 02:00 daily)`, { cause });
  }
}

export class ScheduleStore {
  private readonly kv: KV;
  constructor(kv: KV) {
    this.kv = kv;
  }

  async put(s: Schedule): Promise<void> {
    nextRun(s.cron, new Date());
    await this.kv.put(`${assertId(s.tenant, 'tenant')}.${assertId(s.name, 'schedule name')}`, packr.pack(s));
  }

  async remove(tenant: string, name: string): Promise<boolean> {
    const key = `${assertId(tenant, 'tenant')}.${assertId(name, 'schedule name')}`;
    if (!(await this.kv.get(key))?.value.length) return false;
    await this.kv.delete(key);
    return true;
  }

  async list(tenant?: string): Promise<{ schedule: Schedule; revision: number }[]> {
    const out: { schedule: Schedule; revision: number }[] = [];
    const keys = await this.kv.keys(tenant ? `${assertId(tenant, 'tenant')}.*` : undefined);
    for await (const key of keys) {
      const e = await this.kv.get(key);
      if (e && e.value.length > 0) out.push({ schedule: packr.unpack(e.value) as Schedule, revision: e.revision });
    }
    return out.sort((a, b) => a.schedule.name.localeCompare(b.schedule.name));
  }

  /** Records a run; false when someone else changed the schedule first (revision check). */
  async markRun(s: Schedule, revision: number, dueAt: number): Promise<boolean> {
    try {
      await this.kv.update(`${s.tenant}.${s.name}`, packr.pack({ ...s, lastDueAt: dueAt }), revision);
      return true;
    } catch {
      return false;
    }
  }
}
