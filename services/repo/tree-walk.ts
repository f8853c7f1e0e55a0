/**
 * Navigating snapshot trees: find a node by path, and walk a tree in
 * pre-order as an async stream (one directory's tree in memory at a time
 * per level, never the whole snapshot).
 */
import type { Repository } from './repository.ts';
import { NodeType, type TreeNode } from './tree.ts';
import { RepoError, RepoErrorCode } from './errors.ts';

export interface WalkEntry {
  /** Components from the snapshot root, including the node's own name. */
  readonly path: readonly string[];
  readonly node: TreeNode;
}

/** A synthetic directory node for a snapshot root, which has no entry of its own. */
export function rootNode(tree: Uint8Array): TreeNode {
  return { name: '', type: NodeType.Dir, mode: 0o755, uid: 0, gid: 0, size: 0, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, inode: 0n, device: 0n, nlink: 1, subtree: tree };
}

export async function findNode(repo: Repository, rootTree: Uint8Array, parts: readonly string[]): Promise<TreeNode | undefined> {
  let node = rootNode(rootTree);
  for (const part of parts) {
    if (node.type !== NodeType.Dir || !node.subtree) return undefined;
    const next = (await repo.loadTree(node.subtree)).find((n) => n.name === part);
    if (!next) return undefined;
    node = next;
  }
  return node;
}

export async function* walkTree(repo: Repository, tree: Uint8Array, prefix: readonly string[] = []): AsyncGenerator<WalkEntry> {
  for (const node of await repo.loadTree(tree)) {
    const path = [...prefix, node.name];
    yield { path, node };
    if (node.type === NodeType.Dir) {
      if (!node.subtree) throw new RepoError(RepoErrorCode.Corrupt, `directory /${path.join('/')} has no subtree`);
      yield* walkTree(repo, node.subtree, path);
    }
  }
}

export const displayPath = (parts: readonly string[]): string => '/' + parts.join('/');
