import { resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { UsageError } from '../usage-error.ts';
import { formatBytes } from '../progress.ts';
import { applyOne } from '../catalog-sync.ts';
import { workspaceSelection, clearStaged } from '../workspace-backup.ts';
import { backupLocally } from '../../services/jobs/local-pipeline.ts';

export const backupCommand: Command = {
  name: 'backup',
  usage: 'ferry backup [PATH...] [--tag TAG]...   (no PATH: the tracked directories\' staged and tracked files)',
  summary: 'back up paths into a new snapshot',
  async run(args, s) {
    const { values, positionals } = parseCommandArgs('backup', args, { tag: { type: 'string', multiple: true } });
    const repo = await s.repo();
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
    const log = s.log.child({ op: 'backup', source: s.cfg.source });
    const all = await repo.listSnapshots();
    const parent = all.filter((r) => r.snapshot.source === s.cfg.source).at(-1);
    await repo.loadIndex();
    const workers = await s.blobWorkers();
    const bar = s.progress();
    log.info({ paths, parent: parent?.id.slice(0, 12) }, 'backup started');
    const { id, snapshot } = await backupLocally(repo, workers, {
      paths,
      host: s.cfg.host,
      source: s.cfg.source,
      tags: values.tag ?? [],
      parent,
      ...(select ? { selection: select.selection } : {}),
    });
    bar.done();
    await applyOne(repo, await s.catalog(), { id, snapshot });
    if (select) await clearStaged(s);
    const m = snapshot.summary;
    log.info({ snapshot: id, status: snapshot.status, ...m }, 'backup finished');
    s.print({ id, status: snapshot.status, summary: m, errors: snapshot.errors }, () => [
      ...snapshot.errors.map((e) => `error: ${e.path}: ${e.message}`),
      `snapshot ${id.slice(0, 12)} saved (${snapshot.status})`,
      `  ${m.files} files, ${m.dirs} dirs, ${formatBytes(m.bytes)}; read ${m.filesRead} files; added ${formatBytes(m.newBytes)} in ${m.newBlobs} blobs, ${formatBytes(m.storedBytes)} stored; ${(m.durationMs / 1000).toFixed(1)} s`,
      ...(snapshot.errorCount > 0 ? [`  ${snapshot.errorCount} file(s) could not be backed up (listed above)`] : []),
    ]);
    return snapshot.status === 'ok' ? ExitCode.Ok : ExitCode.Warnings;
  },
};
