/**
 * `ferry retention`: retention policies stored per source (or per site,
 * whose source is `site-<name>`) in NATS KV, and the retention job that
 * applies them: forget by policy, then prune (actors/retention.ts). A
 * schedule of type retention (`ferry schedule add`) runs that job.
 */
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { UsageError } from '../usage-error.ts';
import { formatBytes } from '../progress.ts';
import { withKv } from '../runtime.ts';
import type { Session } from '../session.ts';
import { runJobFromCli } from '../run-job.ts';
import { Buckets } from '../../protocol/resources.ts';
import { isId } from '../../protocol/subjects.ts';
import { RetentionStore } from '../../actors/retention-store.ts';
import { KEEP_OPTIONS, policyFromFlags } from './forget.ts';
import { graceFlag, maxUnusedFlag } from './prune.ts';

const USAGE = 'ferry retention set (--source S | --site NAME) --keep-… | ferry retention list | ferry retention remove (--source S | --site NAME) | '
  + 'ferry retention run [--source S | --site NAME] [--no-prune] [--grace-hours H] [--max-unused PERCENT]';

async function withStore<T>(s: Session, fn: (store: RetentionStore) => Promise<T>): Promise<T> {
  return withKv(s, async (kv) => fn(new RetentionStore(await kv(Buckets.Retention))));
}

/** The source a --source or --site flag names; `required` makes one of them mandatory. */
function sourceOf(values: { source?: string | undefined; site?: string | undefined }, required: boolean): string | undefined {
  if (values.source !== undefined && values.site !== undefined) throw new UsageError('retention: give --source or --site, not both');
  const source = values.site !== undefined ? `site-${values.site}` : values.source;
  if (source === undefined && required) throw new UsageError(`retention: which source? give --source S or --site NAME\nusage: ${USAGE}`);
  if (source !== undefined && !isId(source)) throw new UsageError(`retention: ${JSON.stringify(source)} is not a source name ([A-Za-z0-9_-])`);
  return source;
}

export const retentionCommand: Command = {
  name: 'retention',
  usage: USAGE,
  summary: 'retention policies per source or site, and the job that forgets and prunes by them',
  async run(args, s) {
    const [verb, ...rest] = args;
    const { values } = parseCommandArgs(`retention ${verb ?? ''}`.trim(), rest, {
      ...KEEP_OPTIONS, source: { type: 'string' }, site: { type: 'string' }, 'no-prune': { type: 'boolean' }, 'grace-hours': { type: 'string' }, 'max-unused': { type: 'string' },
    });
    if (verb === 'set') {
      const source = sourceOf(values, true)!;
      const policy = policyFromFlags('retention set', values);
      if (!policy) throw new UsageError('retention set: give at least one --keep-* option');
      await withStore(s, (store) => store.set(s.cfg.tenant, source, policy));
      s.print({ source, policy }, () => `retention policy of ${source}: ${JSON.stringify(policy)}`);
      return ExitCode.Ok;
    }
    if (verb === 'list') {
      const list = await withStore(s, (store) => store.list(s.cfg.tenant));
      s.print(list, () => (list.length ? list.map((p) => `${p.source.padEnd(24)} ${JSON.stringify(p.policy)}`) : 'no retention policies'));
      return ExitCode.Ok;
    }
    if (verb === 'remove') {
      const source = sourceOf(values, true)!;
      if (!(await withStore(s, (store) => store.remove(s.cfg.tenant, source)))) throw new UsageError(`retention remove: ${source} has no retention policy`);
      s.print({ removed: source }, () => `removed the retention policy of ${source}`);
      return ExitCode.Ok;
    }
    if (verb === 'run') {
      const source = sourceOf(values, false);
      const spec = {
        ...(source ? { source } : {}), prune: values['no-prune'] !== true,
        graceMs: graceFlag('retention run', values['grace-hours']), maxUnusedPermille: Math.round(maxUnusedFlag('retention run', values['max-unused']) * 1000),
      };
      const { record, final } = await runJobFromCli(s, 'retention', spec);
      const sum = (final?.summary ?? {}) as Record<string, unknown>;
      const n = (k: string) => Number(sum[k] ?? 0);
      s.print({ job: record.jobId, state: record.state, summary: sum }, () => [
        `forgot ${n('removedSnapshots')} snapshot(s)${source ? ` of ${source}` : ''}`,
        ...(spec.prune ? [`pruned: deleted ${n('deletedPacks')} pack(s), ${formatBytes(n('freedBytes'))}; marked ${n('markedPacks')} for a later run${n('waitingMarks') ? ` (${n('waitingMarks')} mark(s) waiting)` : ''}`] : []),
      ]);
      return ExitCode.Ok;
    }
    throw new UsageError(`usage: ${USAGE}`);
  },
};
