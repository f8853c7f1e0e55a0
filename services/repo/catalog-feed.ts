/**
 * Turns a snapshot into the directory listings the catalog ingests. Every
 * directory at or below a backed-up path is complete (its listing is the
 * whole truth, so missing children are deletions); the ancestors of
 * backed-up paths are partial.
 *
 * With `base`, the snapshot the catalog applied last for this source, and
 * the same backed-up paths, a directory whose tree ID equals the base's at the
 * same path is skipped with everything under it: its listings would restate
 * what the catalog holds already. (With other paths a directory's listing
 * may change from partial to complete, so nothing is skipped.)
 */
import type { DirListing, NodeKind } from '../catalog/index.ts';
import type { Repository } from './repository.ts';
import type { Snapshot } from './snapshot.ts';
import { NodeType, type TreeNode } from './tree.ts';
import { splitPath } from './selection.ts';
import { sameId } from './ids.ts';

const kindOf = (n: TreeNode): NodeKind =>
  n.type === NodeType.File ? 'file' : n.type === NodeType.Dir ? 'dir' : n.type === NodeType.Symlink ? 'symlink' : 'other';

export async function* catalogListings(repo: Repository, snap: Snapshot, base?: Snapshot): AsyncGenerator<DirListing> {
  const roots = snap.paths.map(splitPath);
  const isComplete = (path: readonly string[]) => roots.some((r) => r.length <= path.length && r.every((c, i) => path[i] === c));
  const samePaths = base !== undefined && base.paths.length === snap.paths.length && base.paths.every((p, i) => p === snap.paths[i]);
  async function* visit(tree: Uint8Array, path: string[], baseTree: Uint8Array | undefined): AsyncGenerator<DirListing> {
    if (baseTree !== undefined && sameId(tree, baseTree)) return;
    const nodes = await repo.loadTree(tree);
    yield {
      path,
      complete: isComplete(path),
      entries: nodes.map((n) => ({ name: n.name, kind: kindOf(n), size: n.size, mtimeMs: Number(n.mtimeNs / 1_000_000n), hash: n.hash ?? 0n })),
    };
    const baseDirs = baseTree === undefined ? new Map<string, Uint8Array>() : await subtrees(baseTree);
    for (const n of nodes) if (n.type === NodeType.Dir && n.subtree) yield* visit(n.subtree, [...path, n.name], baseDirs.get(n.name));
  }
  async function subtrees(tree: Uint8Array): Promise<Map<string, Uint8Array>> {
    const dirs = new Map<string, Uint8Array>();
    for (const n of await repo.loadTree(tree)) if (n.type === NodeType.Dir && n.subtree) dirs.set(n.name, n.subtree);
    return dirs;
  }
  yield* visit(snap.tree, [], samePaths ? base.tree : undefined);
}
