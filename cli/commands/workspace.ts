import { resolve, join, relative } from 'node:path';
import { lstat, opendir } from 'node:fs/promises';
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { UsageError } from '../usage-error.ts';
import { openWorkspace } from '../workspace-backup.ts';
import { syncCatalog } from '../catalog-sync.ts';
import { splitPath } from '../../services/repo/selection.ts';
import type { Catalog, CatalogNode } from '../../services/catalog/index.ts';

export const dirCommand: Command = {
  name: 'dir',
  usage: 'ferry dir init [DIR] | ferry dir list',
  summary: 'track a directory for the personal workflow (default: the current one), or list tracked ones',
  async run(args, s) {
    const { positionals } = parseCommandArgs('dir', args, {});
    const ws = await openWorkspace(s);
    try {
      if (positionals[0] === 'list') {
        const t = ws.tracked();
        s.print(t, () => (t.length ? t : ['no tracked directories']));
        return ExitCode.Ok;
      }
      if (positionals[0] !== 'init') throw new UsageError(`dir: expected "init" or "list"\nusage: ${dirCommand.usage}`);
      const dir = resolve(positionals[1] ?? '.');
      if (!(await lstat(dir).catch(() => null))?.isDirectory()) throw new UsageError(`dir init: ${dir} is not a directory`);
      const r = ws.track(dir);
      s.print({ dir, result: r }, () => (r === 'already' ? `${dir} is already tracked` : `tracking ${dir}${r === 'merged' ? ' (absorbed tracked subdirectories)' : ''}`));
      return ExitCode.Ok;
    } finally {
      ws.close();
    }
  },
};

export const addCommand: Command = {
  name: 'add',
  usage: 'ferry add [PATH]   (default: the current directory)',
  summary: 'stage a file or directory for the next `ferry backup`',
  async run(args, s) {
    const { positionals } = parseCommandArgs('add', args, {});
    const path = resolve(positionals[0] ?? '.');
    if (!(await lstat(path).catch(() => null))) throw new UsageError(`add: ${path} does not exist`);
    const ws = await openWorkspace(s);
    try {
      if (!ws.trackedDirFor(path)) throw new UsageError(`add: ${path} is not inside a tracked directory; run \`ferry dir init\` in the directory first`);
      ws.stage(path);
      s.print({ staged: path }, () => `staged ${path}`);
      return ExitCode.Ok;
    } finally {
      ws.close();
    }
  },
};

export const FileState = { BackedUp: 'backed-up', Staged: 'staged', Modified: 'modified', Untracked: 'untracked', Deleted: 'deleted' } as const;
export type FileState = (typeof FileState)[keyof typeof FileState];

async function* liveFiles(dir: string): AsyncGenerator<{ path: string; size: number; mtimeMs: number }> {
  let d;
  try {
    d = await opendir(dir);
  } catch {
    return;
  }
  for await (const e of d) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* liveFiles(p);
    else {
      const st = await lstat(p).catch(() => null);
      if (st) yield { path: p, size: st.isFile() ? st.size : 0, mtimeMs: st.mtimeMs };
    }
  }
}

function* catalogFiles(catalog: Catalog, node: CatalogNode, parts: string[]): Generator<{ parts: string[]; node: CatalogNode }> {
  for (const c of catalog.children(node.nodeId)) {
    if (c.deleted) continue;
    if (c.kind === 'dir') yield* catalogFiles(catalog, c, [...parts, c.name]);
    else yield { parts: [...parts, c.name], node: c };
  }
}

export const statusCommand: Command = {
  name: 'status',
  usage: 'ferry status [PATH] [--json]',
  summary: 'per file: backed-up, staged, modified, untracked or deleted',
  async run(args, s) {
    const { positionals } = parseCommandArgs('status', args, {});
    const root = resolve(positionals[0] ?? '.');
    const ws = await openWorkspace(s);
    let staged: string[];
    try {
      if (!ws.trackedDirFor(root)) throw new UsageError(`status: ${root} is not inside a tracked directory; run \`ferry dir init\` first`);
      staged = ws.staged();
    } finally {
      ws.close();
    }
    const isStaged = (p: string) => staged.some((x) => p === x || p.startsWith(x + '/'));
    const { catalog } = await syncCatalog(s);
    const rows: { path: string; state: FileState }[] = [];
    const seen = new Set<string>();
    const st = await lstat(root);
    const live = st.isDirectory() ? liveFiles(root) : (async function* () { yield { path: root, size: st.size, mtimeMs: st.mtimeMs }; })();
    for await (const f of live) {
      seen.add(f.path);
      const node = catalog.lookup(splitPath(f.path));
      const known = node && !node.deleted;
      // The catalog keeps whole seconds, so compare at that precision.
      const same = known && node.size === f.size && Math.floor(node.mtimeMs / 1000) === Math.floor(f.mtimeMs / 1000);
      const state = same ? FileState.BackedUp : isStaged(f.path) ? FileState.Staged : known ? FileState.Modified : FileState.Untracked;
      rows.push({ path: f.path, state });
    }
    const base = catalog.lookup(splitPath(root));
    if (base && !base.deleted && base.kind === 'dir') {
      for (const c of catalogFiles(catalog, base, splitPath(root))) {
        const p = '/' + c.parts.join('/');
        if (!seen.has(p)) rows.push({ path: p, state: FileState.Deleted });
      }
    }
    rows.sort((a, b) => (a.path < b.path ? -1 : 1));
    s.print(rows, () => (rows.length === 0 ? 'nothing here' : rows.map((r) => `${r.state.padEnd(10)} ${relative(process.cwd(), r.path) || r.path}`)));
    return ExitCode.Ok;
  },
};
