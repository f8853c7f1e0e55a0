import { resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { UsageError } from '../usage-error.ts';
import { formatBytes } from '../progress.ts';
import { runJobFromCli } from '../run-job.ts';
import { collectSoonerForBulkWork } from '../heap-policy.ts';
import { FerryError } from '../../protocol/errors.ts';
import { workspaceSelection, clearStaged } from '../workspace-backup.ts';

export const backupCommand: Command = {
  name: 'backup',
  usage: 'ferry backup [PATH...] [--tag TAG]...   (no PATH: the tracked directories\' staged and tracked files)',
  summary: 'back up paths into a new snapshot',
  async run(args, s) {
    const { values, positionals } = parseCommandArgs('backup', args, { tag: { type: 'string', multiple: true } });
    let paths: string[];
    let select: Awaited<ReturnType<typeof workspaceSelection>> | undefined;
    if (positionals.length > 0) {
      paths = positionals.map((p) => resolve(p));
      for (const p of paths) {
        await stat(p).catch(() => {
          throw new UsageError(`backup: ${p} does not exist or is not accessible`);
        });
      }
    } else {
      select = await workspaceSelection(s);
      paths = select.paths;
      if (paths.length === 0) throw new UsageError('backup: nothing to back up: give paths, or track a directory with `ferry dir init` and stage files with `ferry add`');
    }
    const { record } = await runJobFromCli(s, 'backup', async (repo) => {
      const parent = await repo.parentFor(s.cfg.source, paths);
      collectSoonerForBulkWork();
      return {
        paths,
        ...(select ? { select: select.select } : {}),
        host: s.cfg.host,
        source: s.cfg.source,
        tags: values.tag ?? [],
        ...(parent ? { parent: parent.id } : {}),
      };
    });
    if (!record.snapshotId) throw new FerryError('job.no-snapshot', `backup job ${record.jobId} ended ${record.state} without a snapshot`);
    const id = record.snapshotId;
    const snapshot = await (await s.repo()).loadSnapshotById(id);
    // The catalog catches up when a command reads it (status, log, restore-file), not here.
    if (select) await clearStaged(s);
    const m = snapshot.summary;
    s.log.info({ job: record.jobId, snapshot: id, status: snapshot.status, ...m }, 'backup finished');
    s.print({ id, job: record.jobId, status: snapshot.status, summary: m, errors: snapshot.errors }, () => [
      ...snapshot.errors.map((e) => `error: ${e.path}: ${e.message}`),
      `snapshot ${id.slice(0, 12)} saved (${snapshot.status})`,
      `  ${m.files} files, ${m.dirs} dirs, ${formatBytes(m.bytes)}; read ${m.filesRead} files; added ${formatBytes(m.newBytes)} in ${m.newBlobs} blobs, ${formatBytes(m.storedBytes)} stored; ${(m.durationMs / 1000).toFixed(1)} s`,
      ...(snapshot.errorCount > 0 ? [`  ${snapshot.errorCount} file(s) could not be backed up (listed above)`] : []),
    ]);
    return snapshot.status === 'ok' ? ExitCode.Ok : ExitCode.Warnings;
  },
};

export const scanCommand: Command = {
  name: 'scan',
  usage: 'ferry scan PATH... [--json]',
  summary: 'walk paths and compare them with the last snapshot, without storing anything (a scan job)',
  async run(args, s) {
    const { positionals } = parseCommandArgs('scan', args, {});
    if (positionals.length === 0) throw new UsageError(`scan: which paths?\nusage: ${scanCommand.usage}`);
    const paths = positionals.map((p) => resolve(p));
    const { record } = await runJobFromCli(s, 'scan', async (repo) => {
      const parent = await repo.parentFor(s.cfg.source, paths);
      return { paths, host: s.cfg.host, source: s.cfg.source, tags: [], ...(parent ? { parent: parent.id } : {}) };
    });
    s.print({ job: record.jobId, state: record.state, stats: record.stats }, () => `scan ${record.jobId}: ${record.state}; ${Object.entries(record.stats).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    return record.state === 'success' ? ExitCode.Ok : ExitCode.Warnings;
  },
};
