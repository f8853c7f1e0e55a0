import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatBytes } from '../progress.ts';
import { checkRepository } from '../../services/repo/check.ts';

export const checkCommand: Command = {
  name: 'check',
  usage: 'ferry check [--read-data] [--json]',
  summary: 'verify the repository structure; --read-data also reads and verifies every pack',
  async run(args, s) {
    const { values } = parseCommandArgs('check', args, { 'read-data': { type: 'boolean' } });
    const repo = await s.repo();
    const bar = s.progress();
    const report = await checkRepository(repo, { readData: values['read-data'] ?? false, onProgress: (r) => bar.update(`${r.packs} packs, ${formatBytes(r.bytesRead)} read`) });
    bar.done();
    const ok = report.problems.length === 0;
    s.print({ ok, ...report }, () => [
      ...report.problems.map((p) => `error: ${p.message}`),
      ...report.notes.map((n) => `note: ${n}`),
      `${report.snapshots} snapshots, ${repo.index.packCount} packs, ${repo.index.blobCount} blobs checked${values['read-data'] ? `; read ${report.packs} packs (${formatBytes(report.bytesRead)})` : ''}`,
      ok ? 'no errors found' : `${report.problems.length} problem(s) found`,
    ]);
    return ok ? ExitCode.Ok : ExitCode.Failed;
  },
};
