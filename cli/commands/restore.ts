import { basename, dirname, resolve } from 'node:path';
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { UsageError } from '../usage-error.ts';
import { formatBytes } from '../progress.ts';
import { parseSnapshotRef } from '../snapshot-ref.ts';
import { syncCatalog } from '../catalog-sync.ts';
import { runJobFromCli } from '../run-job.ts';
import { collectSoonerForBulkWork } from '../heap-policy.ts';
import { findNode, displayPath } from '../../services/repo/tree-walk.ts';
import { NodeType } from '../../services/repo/tree.ts';
import { Restorer, type RestoreResult } from '../../services/repo/restore.ts';
import { inlinePlacer } from '../../services/repo/place-blobs.ts';
import { splitPath } from '../../services/repo/selection.ts';
import { requirePrivateKey } from '../../services/crypto/tenant-keys.ts';
import { thawForRestore } from '../../services/repo/thaw.ts';
import { ThawTiers, type ThawTier } from '../../services/storage/storage.ts';
import type { Session } from '../session.ts';

/** The 64-bit content hash as 16 hex digits, the checksum users see. */
export const checksumHex = (h: bigint): string => BigInt.asUintN(64, h).toString(16).padStart(16, '0');

function report(s: Session, r: RestoreResult, target: string): ExitCode {
  s.print({ target, ...r }, () => [
    ...r.problems.map((p) => `error: ${p.path}: ${p.message}`),
    `restored ${r.files} files, ${r.dirs} dirs, ${formatBytes(r.bytes)} to ${target}${r.errors ? ` with ${r.errors} problem(s)` : ''}`,
  ]);
  return r.errors > 0 ? ExitCode.Warnings : ExitCode.Ok;
}

export const restoreCommand: Command = {
  name: 'restore',
  usage: 'ferry restore SNAPSHOT[:PATH] --target DIR [--content-only] [--thaw-tier Bulk|Standard|Expedited] [--thaw-days N]',
  summary: 'restore a snapshot, or one directory or file of it, under DIR',
  async run(args, s) {
    const { values, positionals } = parseCommandArgs('restore', args, {
      target: { type: 'string' }, 'content-only': { type: 'boolean' }, 'thaw-tier': { type: 'string' }, 'thaw-days': { type: 'string' },
    });
    if (!positionals[0] || !values.target) throw new UsageError(`restore: needs a snapshot and --target\nusage: ${restoreCommand.usage}`);
    const tier = (values['thaw-tier'] ?? 'Bulk') as ThawTier;
    if (!ThawTiers.includes(tier)) throw new UsageError(`restore: --thaw-tier is one of ${ThawTiers.join(', ')}, not ${JSON.stringify(values['thaw-tier'])}`);
    const days = Number(values['thaw-days'] ?? 7);
    if (!Number.isInteger(days) || days < 1) throw new UsageError(`restore: --thaw-days is a whole number of days, at least 1, not ${JSON.stringify(values['thaw-days'])}`);
    const ref = parseSnapshotRef(positionals[0]);
    const target = resolve(values.target);
    const { record, final } = await runJobFromCli(s, 'restore', async (repo) => {
      requirePrivateKey(repo.keys, 'restore');
      const rec = await repo.resolveSnapshot(ref.snap);
      await repo.loadIndex();
      const start = await findNode(repo, rec.snapshot.tree, ref.parts);
      if (!start) throw new UsageError(`restore: ${displayPath(ref.parts)} is not in snapshot ${rec.id.slice(0, 12)}`);
      // Archived data packs are thawed before the restore job starts, all at once (services/repo/thaw.ts).
      const thawed = await thawForRestore(repo, start, {
        tier, days, pollMs: s.cfg.thawPollMs,
        onWaiting: (w) => s.log.info({ ...w, tier, nextCheckS: s.cfg.thawPollMs / 1000 }, `waiting for ${w.thawing} of ${w.packs} archived pack(s) to be restored (${tier} tier); the restore starts when all are readable`),
      });
      if (thawed.requested > 0) s.log.info(thawed, 'archived packs are readable; restoring');
      collectSoonerForBulkWork();
      return { snapshot: rec.id, path: ref.parts, target, contentOnly: values['content-only'] ?? false };
    });
    const sum = (final?.summary ?? {}) as Record<string, unknown>;
    const n = (k: string) => Number(sum[k] ?? record.stats[k] ?? 0);
    const problems = Array.isArray(sum.errors) ? sum.errors.map(String) : [];
    s.print({ job: record.jobId, target, state: record.state, files: n('files'), dirs: n('dirs'), bytes: n('bytes'), errors: n('errorCount'), problems }, () => [
      ...problems.map((p) => `error: ${p}`),
      `restored ${n('files')} files, ${n('dirs')} dirs, ${formatBytes(n('bytes'))} to ${target}${n('errorCount') ? ` with ${n('errorCount')} problem(s)` : ''}`,
    ]);
    return record.state === 'success' ? ExitCode.Ok : ExitCode.Warnings;
  },
};

export const restoreFileCommand: Command = {
  name: 'restore-file',
  usage: 'ferry restore-file FILE [--version N | --checksum C] [--content-only]',
  summary: 'restore a stored version of FILE next to it as FILE.<checksum>',
  async run(args, s) {
    const { values, positionals } = parseCommandArgs('restore-file', args, { version: { type: 'string' }, checksum: { type: 'string' }, 'content-only': { type: 'boolean' } });
    if (!positionals[0]) throw new UsageError(`restore-file: which file?\nusage: ${restoreFileCommand.usage}`);
    if (values.version && values.checksum) throw new UsageError('restore-file: give --version or --checksum, not both');
    const file = resolve(positionals[0]);
    const repo = await s.repo();
    requirePrivateKey(repo.keys, 'restore-file');
    const { catalog } = await syncCatalog(s);
    const versions = catalog.history(splitPath(file)).filter((v) => !v.deleted).reverse(); // oldest first, numbered from 1
    if (versions.length === 0) throw new UsageError(`restore-file: no stored version of ${file} (see \`ferry log ${file}\`)`);
    let pick = versions.at(-1)!;
    if (values.version) {
      const n = Number(values.version);
      const v = versions[n - 1];
      if (!Number.isInteger(n) || !v) throw new UsageError(`restore-file: --version must be 1..${versions.length}`);
      pick = v;
    } else if (values.checksum) {
      const want = values.checksum.toLowerCase();
      const hits = versions.filter((v) => checksumHex(v.hash).startsWith(want));
      if (hits.length !== 1) throw new UsageError(`restore-file: checksum ${want} matches ${hits.length} versions of ${file}`);
      pick = hits[0]!;
    }
    const rec = await repo.resolveSnapshot(pick.snapshotId);
    await repo.loadIndex();
    const node = await findNode(repo, rec.snapshot.tree, splitPath(file));
    if (!node || node.type !== NodeType.File) throw new UsageError(`restore-file: ${file} is not a file in snapshot ${rec.id.slice(0, 12)}`);
    const name = `${basename(file)}.${checksumHex(node.hash ?? 0n)}`;
    const restorer = new Restorer(repo, { contentOnly: values['content-only'] ?? false, log: s.log.child({ op: 'restore-file' }), placer: inlinePlacer });
    const result = await restorer.restoreOne({ ...node, name, nlink: 1 }, dirname(file));
    return report(s, result, resolve(dirname(file), name));
  },
};
