/**
 * Differences between two snapshot trees, as a stream. Identical subtree IDs
 * are skipped without loading them, so a diff costs in proportion to what
 * changed.
 */
import type { Repository } from './repository.ts';
import { NodeType, compareNames, type TreeNode } from './tree.ts';
import { walkTree } from './tree-walk.ts';

export type Change = 'added' | 'removed' | 'modified' | 'metadata';

export interface TreeDiff {
  readonly change: Change;
  readonly path: readonly string[];
  readonly type: TreeNode['type'];
}

const sameContent = (a: TreeNode, b: TreeNode): boolean =>
  a.type === b.type &&
  a.size === b.size &&
  a.linkTarget === b.linkTarget &&
  (a.content ?? []).length === (b.content ?? []).length &&
  (a.content ?? []).every((id, i) => Buffer.from(id).equals(b.content![i]!));

const sameMeta = (a: TreeNode, b: TreeNode): boolean =>
  a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && a.mtimeNs === b.mtimeNs;

async function* everything(repo: Repository, n: TreeNode, path: string[], change: Change): AsyncGenerator<TreeDiff> {
  yield { change, path, type: n.type };
  if (n.type === NodeType.Dir && n.subtree) {
    for await (const e of walkTree(repo, n.subtree, path)) yield { change, path: e.path, type: e.node.type };
  }
}

export async function* diffTrees(repo: Repository, a: Uint8Array, b: Uint8Array, prefix: string[] = []): AsyncGenerator<TreeDiff> {
  if (Buffer.from(a).equals(b)) return;
  const left = await repo.loadTree(a);
  const right = await repo.loadTree(b);
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    const l = left[i];
    const r = right[j];
    const cmp = !l ? 1 : !r ? -1 : compareNames(l.name, r.name);
    if (cmp < 0) {
      yield* everything(repo, l!, [...prefix, l!.name], 'removed');
      i++;
    } else if (cmp > 0) {
      yield* everything(repo, r!, [...prefix, r!.name], 'added');
      j++;
    } else {
      const path = [...prefix, l!.name];
      if (l!.type === NodeType.Dir && r!.type === NodeType.Dir) {
        if (!sameMeta(l!, r!)) yield { change: 'metadata', path, type: r!.type };
        if (l!.subtree && r!.subtree) yield* diffTrees(repo, l!.subtree, r!.subtree, path);
      } else if (!sameContent(l!, r!)) {
        yield { change: 'modified', path, type: r!.type };
      } else if (!sameMeta(l!, r!)) {
        yield { change: 'metadata', path, type: r!.type };
      }
      i++;
      j++;
    }
  }
}
