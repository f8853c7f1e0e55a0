import { resolve } from 'node:path';
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { UsageError } from '../usage-error.ts';
import { withKv } from '../runtime.ts';
import { Buckets } from '../../protocol/resources.ts';
import { ScheduleStore, nextRun } from '../../actors/schedules.ts';

/** What a schedule runs, for the list: its paths, its site, or its kind of job. */
function describe(type: string, spec: Record<string, unknown>): string {
  if (type === 'backup' && Array.isArray(spec.paths)) return (spec.paths as string[]).join(' ');
  if (type === 'site') return `site ${String(spec.site)} (${String(spec.job)})`;
  if (type === 'sync') return `sync to ${String(spec.to)}`;
  return type;
}

export const scheduleCommand: Command = {
  name: 'schedule',
  usage: 'ferry schedule add NAME --cron "0 2 * * *" PATH... [--tag T] | ferry schedule add NAME --cron "0 3 * * *" --type retention | ferry schedule add NAME --cron "0 4 * * *" --type sync --to REPO | ferry schedule list | ferry schedule remove NAME',
  summary: 'back up paths on a cron schedule (fired by the coordinator that holds the leader lease)',
  async run(args, s) {
    const { values, positionals } = parseCommandArgs('schedule', args, { cron: { type: 'string' }, tag: { type: 'string', multiple: true }, type: { type: 'string' }, to: { type: 'string' } });
    const type = values.type ?? 'backup';
    if (type !== 'backup' && type !== 'retention' && type !== 'sync') throw new UsageError(`schedule add: --type is backup, retention or sync, not ${JSON.stringify(type)} (site backups are scheduled by ferry site add --every)`);
    const [verb, name, ...paths] = positionals;
    return withKv(s, async (kv) => {
      const store = new ScheduleStore(await kv(Buckets.Schedules));
      if (verb === 'list') {
        const all = await store.list(s.cfg.tenant);
        const rows = all.map(({ schedule: x }) => ({ ...x, next: nextRun(x.cron, new Date())?.toISOString() }));
        s.print(rows, () => (rows.length ? rows.map((r) => `${r.name.padEnd(16)} ${r.cron.padEnd(16)} next ${r.next ?? '-'}  ${describe(r.type, r.spec)}`) : 'no schedules'));
        return ExitCode.Ok;
      }
      if (verb === 'remove' && name) {
        const gone = await store.remove(s.cfg.tenant, name);
        if (!gone) throw new UsageError(`schedule ${name} does not exist`);
        s.print({ removed: name }, () => `removed schedule ${name}`);
        return ExitCode.Ok;
      }
      if (verb === 'add' && name && (paths.length > 0) === (type === 'backup')) {
        const cron = values.cron;
        if (!cron) throw new UsageError('schedule add: --cron is required, e.g. --cron "0 2 * * *"');
        const repo = await s.repo();
        // A retention run applies every stored policy (ferry retention set) and prunes with the default grace.
        if ((type === 'sync') !== (values.to !== undefined)) throw new UsageError('schedule add: --to REPO goes with --type sync, and only with it');
        const spec = type === 'backup' ? { paths: paths.map((p) => resolve(p)), host: s.cfg.host, source: s.cfg.source, tags: values.tag ?? [] } : type === 'sync' ? { to: values.to } : { prune: true };
        await store.put({ name, tenant: s.cfg.tenant, cron, type, repoId: repo.config.id, spec, createdAt: Date.now() });
        const next = nextRun(cron, new Date())?.toISOString();
        s.print({ name, cron, next }, () => `schedule ${name}: ${cron}, next run ${next}`);
        return ExitCode.Ok;
      }
      throw new UsageError(`usage: ${scheduleCommand.usage}`);
    });
  },
};
