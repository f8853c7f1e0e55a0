/**
 * Turns a snapshot into the directory listings the catalog ingests. Every
 * directory at or below a backed-up path is complete (its listing is the
 * whole truth, so missing children are deletions); the ancestors of
 * backed-up paths are partial.
 */
import type { DirListing, NodeKind } from '../catalog/index.ts';
import type { Repository } from './repository.ts';
import type { Snapshot } from './snapshot.ts';
import { NodeType, type TreeNode } from './tree.ts';
import { splitPath } from './selection.ts';

const kindOf = (n: TreeNode): NodeKind =>
  n.type === NodeType.File ? 'file' : n.type === NodeType.Dir ? 'dir' : n.type === NodeType.Symlink ? 'symlink' : 'other';

export async function* catalogListings(repo: Repository, snap: Snapshot): AsyncGenerator<DirListing> {
  const roots = snap.paths.map(splitPath);
  const isComplete = (path: readonly string[]) => roots.some((r) => r.length <= path.length && r.every((c, i) => path[i] === c));
  async function* visit(tree: Uint8Array, path: string[]): AsyncGenerator<DirListing> {
    const nodes = await repo.loadTree(tree);
    yield {
      path,
      complete: isComplete(path),
      entries: nodes.map((n) => ({ name: n.name, kind: kindOf(n), size: n.size, mtimeMs: Number(n.mtimeNs / 1_000_000n), hash: n.hash ?? 0n })),
    };
    for (const n of nodes) if (n.type === NodeType.Dir && n.subtree) yield* visit(n.subtree, [...path, n.name]);
  }
  yield* visit(snap.tree, []);
}
