/**
 * Gathers a directory's unchanged entries into "k" events: runs of
 * consecutive nodes of the parent snapshot's listing that the new listing
 * keeps as they are. A changed directory thus sends only what changed
 * through batches, uploaders and fragments; the finalizer copies the rest
 * from the parent's tree. Entries are added in the walk's (name) order; a
 * run ends where the next kept entry is not the parent's next node (an
 * entry in between was removed or changed), or where the caller flushes it
 * because a changed entry comes next.
 */
import type { TreeNode } from '../repo/tree.ts';
import { NodeType } from '../repo/tree.ts';
import { addSubtree, type Position, type SubtreeCounts, type WalkItem } from './scan-events.ts';
import { FerryError } from '../../protocol/errors.ts';

interface Run {
  readonly first: number;
  count: number;
  readonly counts: { files: number; dirs: number; others: number; bytes: number };
  pos: Position;
}

export class KeptRuns {
  private readonly tree: Uint8Array | undefined;
  private readonly prev: ReadonlyMap<string, TreeNode>;
  /** Index of each name in the parent's listing; built at the first kept entry, since most directories keep none or collapse whole. */
  private order: Map<string, number> | undefined;
  private run: Run | undefined;

  /** `prev` is the parent's listing of `tree`, in the tree's order. */
  constructor(tree: Uint8Array | undefined, prev: ReadonlyMap<string, TreeNode>) {
    this.tree = tree;
    this.prev = prev;
  }

  /**
   * Adds entry `name`, which is `node` of the parent's listing unchanged, at
   * walk position `pos`; `sub` is what a directory holds below it. Returns
   * the run it ended, if any, for the caller to emit before anything else.
   */
  add(name: string, node: TreeNode, sub: SubtreeCounts | undefined, pos: Position): WalkItem | undefined {
    // These checks catch walker bugs, not source problems: a kept entry comes from `prev`, which is `tree`'s listing.
    if (this.tree === undefined) throw new FerryError('jobs.kept-run', `kept entry ${name} has no parent tree`);
    this.order ??= new Map([...this.prev.keys()].map((n, i) => [n, i]));
    const index = this.order.get(name);
    if (index === undefined) throw new FerryError('jobs.kept-run', `kept entry ${name} is not in the parent's listing`);
    let ended: WalkItem | undefined;
    if (this.run && index !== this.run.first + this.run.count) ended = this.take();
    const run = (this.run ??= { first: index, count: 0, counts: { files: 0, dirs: 0, others: 0, bytes: 0 }, pos });
    run.count++;
    run.pos = pos;
    if (node.type === NodeType.Dir) {
      if (sub === undefined) throw new FerryError('jobs.kept-run', `kept directory ${name} came without its subtree's counts`);
      addSubtree(run.counts, sub);
    } else if (node.type === NodeType.File) {
      run.counts.files++;
      run.counts.bytes += node.size;
    } else run.counts.others++;
    return ended;
  }

  /** Appends the open run, if any, to `out`: call before emitting any other event of the directory. */
  flushTo(out: WalkItem[]): void {
    if (this.run) out.push(this.take());
  }

  private take(): WalkItem {
    const r = this.run!;
    this.run = undefined;
    return { event: { t: 'k', tree: this.tree!, first: r.first, count: r.count, counts: r.counts }, pos: r.pos };
  }
}
