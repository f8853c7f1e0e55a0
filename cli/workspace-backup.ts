/**
 * The selection of a path-less `ferry backup`: in every tracked directory,
 * the files the catalog already tracks plus whatever is staged. Untracked
 * files (never added) are left out, as in bt.
 */
import { join } from 'node:path';
import type { Session } from './session.ts';
import { syncCatalog } from './catalog-sync.ts';
import { Workspace } from '../services/workspace/workspace.ts';
import { FULL, splitPath, type Selection } from '../services/repo/selection.ts';
import type { Catalog } from '../services/catalog/index.ts';

export async function openWorkspace(s: Session): Promise<Workspace> {
  const repo = await s.repo();
  return Workspace.open(join(s.cfg.stateDir, 'workspace', `${repo.config.id}.sqlite`));
}

function addPath(root: Selection, parts: readonly string[]): void {
  let node = root;
  for (const [i, part] of parts.entries()) {
    if (node.full) return;
    const last = i === parts.length - 1;
    let child = node.children.get(part);
    if (last) child = FULL;
    else if (!child) child = { full: false, children: new Map() };
    node.children.set(part, child);
    node = child;
  }
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

export async function workspaceSelection(s: Session): Promise<{ paths: string[]; selection: Selection }> {
  const ws = await openWorkspace(s);
  try {
    const tracked = ws.tracked();
    const staged = ws.staged();
    const { catalog } = await syncCatalog(s);
    const root: Selection = { full: false, children: new Map() };
    const paths: string[] = [];
    for (const t of tracked) {
      const tParts = splitPath(t);
      const mine = staged.filter((p) => p === t || p.startsWith(t + '/'));
      let any = false;
      for (const f of trackedFiles(catalog, tParts)) {
        addPath(root, f);
        any = true;
      }
      for (const p of mine) {
        addPath(root, splitPath(p));
        any = true;
      }
      if (any) paths.push(t);
    }
    return { paths, selection: root };
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
