import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatBytes } from '../progress.ts';
import { runJobFromCli } from '../run-job.ts';

export const checkCommand: Command = {
  name: 'check',
  usage: 'ferry check [--read-data] [--json]',
  summary: 'verify the repository structure; --read-data also reads and verifies every pack',
  async run(args, s) {
    const { values } = parseCommandArgs('check', args, { 'read-data': { type: 'boolean' } });
    const { record, final } = await runJobFromCli(s, 'verify', { readData: values['read-data'] ?? false });
    const sum = (final?.summary ?? {}) as Record<string, unknown>;
    const list = (k: string) => (Array.isArray(sum[k]) ? (sum[k] as unknown[]).map(String) : []);
    const n = (k: string) => Number(sum[k] ?? record.stats[k] ?? 0);
    const problems = list('problems');
    const ok = record.state === 'success';
    s.print({ ok, job: record.jobId, problems, notes: list('notes'), snapshots: n('snapshots'), packs: n('packs'), blobs: n('blobs'), packsRead: n('packsRead'), bytesRead: n('bytesRead') }, () => [
      ...problems.map((p) => `error: ${p}`),
      ...list('notes').map((x) => `note: ${x}`),
      `${n('snapshots')} snapshots, ${n('packs')} packs, ${n('blobs')} blobs checked${values['read-data'] ? `; read ${n('packsRead')} packs (${formatBytes(n('bytesRead'))})` : ''}`,
      ok ? 'no errors found' : `${problems.length} problem(s) found`,
    ]);
    return ok ? ExitCode.Ok : ExitCode.Failed;
  },
};
