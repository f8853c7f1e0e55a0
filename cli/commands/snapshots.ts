import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { UsageError } from '../usage-error.ts';
import { formatBytes } from '../progress.ts';
import { modeString, parseSnapshotRef, snapshotJson, snapshotTime } from '../snapshot-ref.ts';
import { findNode, walkTree, displayPath } from '../../services/repo/tree-walk.ts';
import { NodeType } from '../../services/repo/tree.ts';
import { diffTrees } from '../../services/repo/tree-diff.ts';

export const snapshotsCommand: Command = {
  name: 'snapshots',
  usage: 'ferry snapshots [--json]',
  summary: 'list snapshots',
  async run(args, s) {
    parseCommandArgs('snapshots', args, {});
    const repo = await s.repo();
    const all = await repo.listSnapshots();
    s.print(all.map(snapshotJson), () =>
      all.length === 0
        ? 'no snapshots'
        : all.map((r) => `${r.id.slice(0, 12)}  ${snapshotTime(r).toISOString()}  ${r.snapshot.host}  ${r.snapshot.status.padEnd(7)}  ${formatBytes(r.snapshot.summary.bytes).padStart(10)}  ${r.snapshot.paths.join(' ')}`),
    );
    return ExitCode.Ok;
  },
};

export const lsCommand: Command = {
  name: 'ls',
  usage: 'ferry ls SNAPSHOT [PATH] [--json]',
  summary: 'list the files of a snapshot',
  async run(args, s) {
    const { positionals } = parseCommandArgs('ls', args, {});
    if (!positionals[0]) throw new UsageError(`ls: which snapshot?\nusage: ${lsCommand.usage}`);
    const repo = await s.repo();
    const ref = parseSnapshotRef(positionals[1] ? `${positionals[0]}:${positionals[1]}` : positionals[0]);
    const rec = await repo.resolveSnapshot(ref.snap);
    await repo.loadIndex();
    const start = await findNode(repo, rec.snapshot.tree, ref.parts);
    if (!start) throw new UsageError(`ls: ${displayPath(ref.parts)} is not in snapshot ${rec.id.slice(0, 12)}`);
    const entries = start.type === NodeType.Dir && start.subtree ? walkTree(repo, start.subtree, ref.parts) : (async function* () { yield { path: ref.parts, node: start }; })();
    for await (const { path, node } of entries) {
      const mtime = new Date(Number(node.mtimeNs / 1_000_000n)).toISOString();
      if (s.cfg.json) {
        s.print({ path: displayPath(path), type: node.type, mode: node.mode, uid: node.uid, gid: node.gid, size: node.size, mtime, linkTarget: node.linkTarget }, () => '');
      } else {
        const tail = node.type === NodeType.Symlink ? ` -> ${node.linkTarget}` : '';
        process.stdout.write(`${modeString(node.type, node.mode)} ${String(node.uid).padStart(5)} ${String(node.gid).padStart(5)} ${String(node.size).padStart(12)} ${mtime} ${displayPath(path)}${tail}\n`);
      }
    }
    return ExitCode.Ok;
  },
};

export const diffCommand: Command = {
  name: 'diff',
  usage: 'ferry diff SNAPSHOT1 SNAPSHOT2 [--json]',
  summary: 'show added (+), removed (-), changed-content (M) and changed-metadata (U) paths',
  async run(args, s) {
    const { positionals } = parseCommandArgs('diff', args, {});
    if (positionals.length !== 2) throw new UsageError(`diff: needs two snapshots\nusage: ${diffCommand.usage}`);
    const repo = await s.repo();
    const a = await repo.resolveSnapshot(positionals[0]!);
    const b = await repo.resolveSnapshot(positionals[1]!);
    await repo.loadIndex();
    const counts = { added: 0, removed: 0, modified: 0, metadata: 0 };
    for await (const d of diffTrees(repo, a.snapshot.tree, b.snapshot.tree)) {
      counts[d.change]++;
      const mark = { added: '+', removed: '-', modified: 'M', metadata: 'U' }[d.change];
      s.print({ change: d.change, path: displayPath(d.path), type: d.type }, () => `${mark}  ${displayPath(d.path)}${d.type === NodeType.Dir ? '/' : ''}`);
    }
    if (!s.cfg.json) process.stdout.write(`\n${counts.added} added, ${counts.removed} removed, ${counts.modified} modified, ${counts.metadata} metadata-only\n`);
    return ExitCode.Ok;
  },
};
