/**
 * What a path-less `ferry backup` walks: in every tracked directory,
 * the files the catalog already tracks plus whatever is staged. Untracked
 * files (never added) are left out, as in bt.
 */
import { join } from 'node:path';
import type { Session } from './session.ts';
import { syncCatalog } from './catalog-sync.ts';
import { Workspace } from '../services/workspace/workspace.ts';
import { splitPath } from '../services/repo/selection.ts';
import type { Catalog } from '../services/catalog/index.ts';

export async function openWorkspace(s: Session): Promise<Workspace> {
  const repo = await s.repo();
  return Workspace.open(join(s.cfg.stateDir, 'workspace', `${repo.config.id}.sqlite`));
}

function* trackedFiles(catalog: Catalog, dirParts: string[]): Generator<string[]> {
  const dir = catalog.lookup(dirParts);
  if (!dir || dir.deleted) return;
  const stack: [bigint, string[]][] = [[dir.nodeId, dirParts]];
  while (stack.length > 0) {
    const [id, parts] = stack.pop()!;
    for (const c of catalog.children(id)) {
      if (c.deleted) continue;
      if (c.kind === 'dir') stack.push([c.nodeId, [...parts, c.name]]);
      else yield [...parts, c.name];
    }
  }
}

/**
 * Returns the tracked roots (recorded as the snapshot's paths) and the
 * absolute paths to walk inside them: tracked files and staged paths.
 */
export async function workspaceSelection(s: Session): Promise<{ paths: string[]; select: string[] }> {
  const ws = await openWorkspace(s);
  try {
    const tracked = ws.tracked();
    const staged = ws.staged();
    const { catalog } = await syncCatalog(s);
    const paths: string[] = [];
    const select: string[] = [];
    for (const t of tracked) {
      const before = select.length;
      for (const f of trackedFiles(catalog, splitPath(t))) select.push('/' + f.join('/'));
      select.push(...staged.filter((p) => p === t || p.startsWith(t + '/')));
      if (select.length > before) paths.push(t);
    }
    return { paths, select };
  } finally {
    ws.close();
  }
}

export async function clearStaged(s: Session): Promise<void> {
  const ws = await openWorkspace(s);
  try {
    ws.clearStaged();
  } finally {
    ws.close();
  }
}
