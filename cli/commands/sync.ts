/**
 * `ferry sync --to REPO`: copies the repository to a second one, e.g. an
 * off-site bucket, with services/repo/sync.ts (only what is missing there,
 * verified, in the order that keeps the copy consistent). The copy is the
 * same repository: the same passphrases open it.
 *
 * The destination is opened as `--repo` would be (a local path, file:// or
 * s3://bucket/prefix), with the same S3 settings (--s3-endpoint and
 * FERRY_S3_*); so the copy's storage classes are chosen by running sync
 * with other FERRY_S3_DATA_CLASS / FERRY_S3_METADATA_CLASS values than
 * the backups use. A sync that fails keeps what it copied, and the next
 * one copies only the rest.
 */
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { UsageError } from '../usage-error.ts';
import { formatBytes } from '../progress.ts';
import { withKv } from '../runtime.ts';
import { Buckets } from '../../protocol/resources.ts';
import { recordSyncRun, SyncStateStore } from '../../actors/sync-state.ts';
import { SYNC_PHASES, syncRepository, type SyncCounts, type SyncPhase } from '../../services/repo/sync.ts';

export const syncCommand: Command = {
  name: 'sync',
  usage: 'ferry sync --to REPO [--json]',
  summary: 'copy the repository to a second one (path or s3://bucket/prefix): what it lacks, verified, snapshots last',
  async run(args, s) {
    const { values, positionals } = parseCommandArgs('sync', args, { to: { type: 'string' } });
    const to = values.to;
    if (to === undefined || to === '') throw new UsageError(`sync: where to? Give --to REPO\nusage: ${syncCommand.usage}`);
    if (positionals.length > 0) throw new UsageError(`sync: unexpected argument ${JSON.stringify(positionals[0])}\nusage: ${syncCommand.usage}`);
    if (to === s.cfg.repo) throw new UsageError('sync: --to names the repository being synced; give another location');
    const repo = await s.repo();
    const destination = await s.openStorageAt(to, { create: true });
    const bar = s.progress();
    const done = new Map<SyncPhase, SyncCounts>();
    const startedAt = Date.now();
    // The copy's state (last success, lag, error) is kept where sync jobs keep it, for ferry site status.
    const record = async (copied: number, failure?: unknown) => {
      await withKv(s, async (kv) => recordSyncRun(new SyncStateStore(await kv(Buckets.Sync)), { tenant: s.cfg.tenant, repo, destination, to, startedAt, copied, failure }));
    };
    try {
      const result = await syncRepository(repo.storage, destination, {
        onProgress: (p) => {
          done.set(p.phase, p.done);
          bar.update(`${p.phase}: ${p.done.copied}/${p.missing} copied (${formatBytes(p.done.copiedBytes)})`, p.missingBytes > 0 ? p.done.copiedBytes / p.missingBytes : undefined);
        },
      });
      bar.done();
      await record(result.total.copied);
      s.print({ to: destination.location, phases: result.phases, total: result.total }, () => [
        ...SYNC_PHASES.map((phase) => `${phase.padEnd(9)}  ${countsLine(result.phases[phase])}`),
        `synced to ${destination.location}: ${countsLine(result.total)}`,
      ]);
      return ExitCode.Ok;
    } catch (err) {
      bar.done();
      const copied = [...done.values()].reduce((n, c) => ({ objects: n.objects + c.copied, bytes: n.bytes + c.copiedBytes }), { objects: 0, bytes: 0 });
      await record(copied.objects, err).catch((e: unknown) => s.log.warn({ err: (e as Error).message }, 'could not record the sync state'));
      if (!s.cfg.json) {
        process.stderr.write(`sync stopped after copying ${copied.objects} object(s) (${formatBytes(copied.bytes)}), which stay at ${destination.location}; once the cause below is dealt with, sync again to copy the rest\n`);
      }
      throw err;
    } finally {
      await destination.close();
    }
  },
};

function countsLine(c: SyncCounts): string {
  const ignored = c.ignored > 0 ? `; ${c.ignored} ignored (not named as the repository layout names objects)` : '';
  return `${c.copied} copied (${formatBytes(c.copiedBytes)}), ${c.skipped} already there (${formatBytes(c.skippedBytes)})${ignored}`;
}
