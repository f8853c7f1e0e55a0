import { resolve } from 'node:path';
import { openBucket } from '../../actors/runtime/open-bucket.ts';
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { UsageError } from '../usage-error.ts';
import { openRuntime } from '../runtime.ts';
import { Buckets } from '../../protocol/resources.ts';
import { ScheduleStore, nextRun } from '../../actors/schedules.ts';

export const scheduleCommand: Command = {
  name: 'schedule',
  usage: 'ferry schedule add NAME --cron "0 2 * * *" PATH... [--tag T] | ferry schedule list | ferry schedule remove NAME',
  summary: 'back up paths on a cron schedule (fired by the coordinator that holds the leader lease)',
  async run(args, s) {
    const { values, positionals } = parseCommandArgs('schedule', args, { cron: { type: 'string' }, tag: { type: 'string', multiple: true } });
    const [verb, name, ...paths] = positionals;
    const rt = await openRuntime(s, { needs: [] });
    try {
      const store = new ScheduleStore(await openBucket(rt.nc, Buckets.Schedules));
      if (verb === 'list') {
        const all = await store.list(s.cfg.tenant);
        const rows = all.map(({ schedule: x }) => ({ ...x, next: nextRun(x.cron, new Date())?.toISOString() }));
        s.print(rows, () => (rows.length ? rows.map((r) => `${r.name.padEnd(16)} ${r.cron.padEnd(16)} next ${r.next ?? '-'}  ${(r.spec.paths as string[]).join(' ')}`) : 'no schedules'));
        return ExitCode.Ok;
      }
      if (verb === 'remove' && name) {
        const gone = await store.remove(s.cfg.tenant, name);
        if (!gone) throw new UsageError(`schedule ${name} does not exist`);
        s.print({ removed: name }, () => `removed schedule ${name}`);
        return ExitCode.Ok;
      }
      if (verb === 'add' && name && paths.length > 0) {
        const cron = values.cron;
        if (!cron) throw new UsageError('schedule add: --cron is required, e.g. --cron "0 2 * * *"');
        const repo = await s.repo();
        const spec = { paths: paths.map((p) => resolve(p)), host: s.cfg.host, source: s.cfg.source, tags: values.tag ?? [] };
        await store.put({ name, tenant: s.cfg.tenant, cron, type: 'backup', repoId: repo.config.id, spec, createdAt: Date.now() });
        const next = nextRun(cron, new Date())?.toISOString();
        s.print({ name, cron, next }, () => `schedule ${name}: ${cron}, next run ${next}`);
        return ExitCode.Ok;
      }
      throw new UsageError(`usage: ${scheduleCommand.usage}`);
    } finally {
      await rt.close();
    }
  },
};
