/**
 * Walks the selected paths of a local source depth-first, in name order,
 * and yields scan events with their positions. Files whose size, mtime (ns)
 * and inode match the parent snapshot's node, and whose blobs are all
 * indexed, carry the parent's content and are not read again.
 *
 * Unchanged subtrees: a directory whose entries all have the parent's
 * metadata (files also its indexed content) and whose subdirectories are
 * themselves unchanged collapses into one "u" event carrying the parent's
 * subtree ID. Nothing of it is yielded until that is known; at the first
 * difference, what was held back goes out as runs of the parent's nodes
 * ("k" events, kept-runs.ts), and so does every later unchanged entry of a
 * changed directory. So a backup with no change sends a handful of events,
 * not one per file, through batches, uploaders and the finalizer; one with
 * scattered changes sends the changed entries and a run for each stretch
 * between them; and holding costs no memory beyond the parent listing the
 * walk reads anyway.
 *
 * A directory's metadata is read again after it is listed, because listing
 * it may have updated its atime (relatime does, once after each change):
 * recording the atime from before would make the next backup see every
 * directory as changed by this backup's own reading.
 *
 * Resuming: with `after`, events at or before that position are not
 * yielded and finished subtrees are not even listed, so a restarted scanner
 * continues where its last published batch ended.
 *
 * Files sent ahead (files-ahead.ts): with `sendAhead`, a file to read of at
 * least its `minBytes` is handed to it when its directory's entries are
 * stat'ed, before the walk descends into the subdirectories that sort
 * before the file, and its event carries `ahead`.
 */
import type { Repository } from '../repo/repository.ts';
import { listDir, statEntries, statEntry } from '../sources/local-fs.ts';
import { compareNames, decodeTree, NodeType, sameMetadata, type TreeNode } from '../repo/tree.ts';
import { BlobType } from '../repo/blob.ts';
import { toHex } from '../repo/ids.ts';
import { FULL, type Selection } from '../repo/selection.ts';
import { errorCode, errorMessage } from '../repo/error-text.ts';
import { childPath } from '../repo/safe-name.ts';
import { KeptRuns } from './kept-runs.ts';
import { ItemHandoff } from './item-handoff.ts';
import type { SendAhead } from './files-ahead.ts';
import { EXIT, addSubtree, comparePositions, type Position, type ScanEvent, type SubtreeCounts, type WalkItem } from './scan-events.ts';

export interface WalkOptions {
  readonly repo: Repository;
  readonly selection: Selection;
  /** Root tree of the parent snapshot, for change detection. */
  readonly parentTree?: Uint8Array | undefined;
  readonly after?: Position | undefined;
  readonly onParentError?: (err: unknown) => void;
  readonly sendAhead?: SendAhead | undefined;
}

export type { WalkItem };

/**
 * Entries stat'ed (synchronously) between two yields to the event loop,
 * counted across the whole walk: most directories are far smaller, and a
 * walk that only yielded inside large ones ran for hundreds of milliseconds
 * on microtasks alone, while blob workers waited for the uploader on the
 * same thread to hand them their next segment.
 */
const STAT_BATCH = 256;

/** Parent trees of upcoming sibling directories loaded ahead, so the walk does not wait on each read. */
const PREFETCH_DIRS = 32;

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** walkSourceInArrays(), one item at a time: for consumers that want single events (tests, mostly). */
export async function* walkSource(opts: WalkOptions): AsyncGenerator<WalkItem> {
  for await (const items of walkSourceInArrays(opts)) yield* items;
}

/**
 * The walk's items in arrays of a few hundred: a consumer that takes arrays
 * (batchEvents) saves an async generator hop per item. The directories are
 * visited by a recursion of async functions that append their items to one
 * ItemHandoff, which hands them to the consumer every STAT_BATCH entries:
 * a recursion of async generators, re-yielding each directory's arrays
 * through every level above it, made most of the walk's allocations (about
 * 1.5 KB per array and level).
 */
export async function* walkSourceInArrays(opts: WalkOptions): AsyncGenerator<readonly WalkItem[]> {
  const after = opts.after;
  const isNew = (pos: Position) => after === undefined || comparePositions(pos, after) > 0;
  // usable, not just indexed: a pack a prune has marked must not gain new references (design.md, "Prune").
  const indexed = (n: TreeNode) => (n.content ?? []).every((id) => opts.repo.index.usable(id));
  const sink = new ItemHandoff<WalkItem>();

  /** A parent tree blob, read (and decrypted) ahead of the walk; undefined when it is absent or unreadable. */
  async function parentBlob(tree: Uint8Array | undefined): Promise<Uint8Array | undefined> {
    if (!tree) return undefined;
    try {
      return await opts.repo.readBlob(tree, BlobType.Tree);
    } catch (err) {
      opts.onParentError?.(err);
      return undefined;
    }
  }

  /**
   * Decodes a parent tree when the walk enters its directory, not when it is
   * read ahead: decoded nodes read ahead outlived young-generation
   * collections and had to be promoted and collected again. Nor does it go
   * through the repository's tree cache, since a walk reads each tree once.
   */
  async function parentNodes(blob: Promise<Uint8Array | undefined>, tree: Uint8Array | undefined): Promise<Map<string, TreeNode>> {
    const bytes = await blob;
    if (!bytes || !tree) return new Map();
    try {
      return new Map(decodeTree(bytes, `tree ${toHex(tree)}`).map((n) => [n.name, n]));
    } catch (err) {
      opts.onParentError?.(err);
      return new Map();
    }
  }

  let statted = 0; // since the walk last let the event loop turn
  const unchangedFile = (node: TreeNode, old: TreeNode | undefined): old is TreeNode =>
    old !== undefined && old.type === NodeType.File && old.size === node.size && old.mtimeNs === node.mtimeNs &&
    old.inode === node.inode && old.content !== undefined && indexed(old);

  /** Sends the stat'ed files to read of at least `to.minBytes`; returns their indexes in `metas`. */
  function sendAhead(to: SendAhead, abs: string, parts: Position, names: readonly string[], metas: ReturnType<typeof statEntries>, prev: Map<string, TreeNode>): Set<number> | undefined {
    let sent: Set<number> | undefined;
    for (let j = 0; j < metas.length; j++) {
      const m = metas[j]!;
      if ('error' in m || m.type !== NodeType.File || m.size < to.minBytes) continue;
      const name = names[j]!;
      if (unchangedFile(m, prev.get(name)) || !isNew(parts.concat(name))) continue;
      to.send(childPath(abs, name), m);
      (sent ??= new Set()).add(j);
    }
    return sent;
  }

  /**
   * Appends the events of one directory's subtree to the sink or, when the
   * whole subtree is unchanged, appends nothing and returns what it holds
   * (the caller emits one "u" event). Returns null when it emitted its events.
   *
   * `ready` is called once, before this directory's first item goes out: the
   * ancestors then emit what they held back (a held directory's entry and
   * its kept entries so far), since those come first in the walk's order.
   * The ancestors are suspended in this call meanwhile, so what they hold
   * cannot change before it returns.
   */
  async function visit(
    abs: string, parts: Position, listedMeta: TreeNode, sel: Selection, parentTree: Promise<Map<string, TreeNode>>, prevTree: Uint8Array | undefined,
    ready: () => void,
  ): Promise<SubtreeCounts | null> {
    if (!isNew(parts.concat(EXIT))) return null; // whole subtree already published
    const prev = await parentTree;
    let names: string[];
    const errors: ScanEvent[] = [];
    let meta = listedMeta;
    if (sel.full) {
      try {
        const listing = listDir(abs);
        names = listing.names;
        for (const bad of listing.undecodable) errors.push({ t: 'x', path: childPath(abs, bad), code: 'name.not-utf8', message: 'file name is not valid UTF-8; skipped' });
        meta = restat(abs, listedMeta);
      } catch (err) {
        errors.push({ t: 'x', path: abs, code: errorCode(err), message: errorMessage(err) });
        names = [];
      }
    } else {
      names = [...sel.children.keys()].sort(compareNames);
    }
    // Only a fully listed directory that was in the parent snapshot, and not resumed inside, can be unchanged.
    // While `holding`, names[0..k) are all unchanged and nothing of this directory has gone out.
    // The root always goes out in full: the finalizer needs its exit to finish the snapshot.
    let holding = parts.length > 0 && sel.full && errors.length === 0 && names.length === prev.size && prevTree !== undefined && isNew(parts) && opts.repo.index.usable(prevTree);
    const counts = { files: 0, dirs: 0, others: 0, bytes: 0 };
    const enter: WalkItem = { event: { t: 'd', node: meta }, pos: parts };
    const inner = new Map<string, SubtreeCounts>(); // of unchanged subdirectories, while holding
    const kept = new KeptRuns(prevTree, prev);
    let announced = false;
    /** The sink, once the ancestors have emitted what they held back. */
    const out = (): WalkItem[] => {
      if (!announced) {
        announced = true;
        ready();
      }
      return sink.items;
    };
    /** Records that entry `name` is the parent's node, unchanged (with `sub` below it, for a directory). */
    function keep(name: string, node: TreeNode, sub: SubtreeCounts | undefined): void {
      const pos = node.type === NodeType.Dir ? parts.concat(name, EXIT) : parts.concat(name);
      if (!isNew(pos)) return;
      const spill = kept.add(name, node, sub, pos);
      if (spill) out().push(spill);
    }
    // Held entries are all unchanged: they go out as kept runs of the parent's nodes.
    function release(k: number): void {
      holding = false;
      out().push(enter);
      for (let x = 0; x < k; x++) {
        const name = names[x]!;
        const node = prev.get(name)!;
        keep(name, node, node.type === NodeType.Dir ? inner.get(name)! : undefined);
      }
      inner.clear();
    }
    /** What must go out before anything of the subdirectory at `k`. */
    const beforeChild = (k: number): void => {
      if (holding) release(k); // the child changed, so this directory did too
      kept.flushTo(out());
    };
    if (!holding && isNew(parts)) out().push(enter);
    for (const e of errors) if (isNew(parts)) out().push({ event: e, pos: parts });
    const prefetch = new TreePrefetch(prev, parentBlob, parentNodes);
    for (let i = 0; i < names.length; i += STAT_BATCH) {
      const batch = names.slice(i, i + STAT_BATCH);
      if (statted >= STAT_BATCH) {
        statted = 0;
        await sink.handOff();
        await tick();
      }
      statted += batch.length;
      const metas = statEntries(abs, batch);
      const ahead = opts.sendAhead === undefined ? undefined : sendAhead(opts.sendAhead, abs, parts, batch, metas, prev);
      for (let j = 0; j < metas.length; j++) {
        const m = metas[j]!;
        const k = i + j;
        const name = batch[j]!;
        let event: ScanEvent;
        if ('error' in m) {
          const err = m.error;
          // An entry the selection names that no longer exists is simply gone.
          if (!sel.full && (err as NodeJS.ErrnoException).code === 'ENOENT') continue;
          event = { t: 'x', path: childPath(abs, name), code: errorCode(err), message: errorMessage(err) };
        } else {
          const prior = prev.get(name);
          if (m.type === NodeType.Dir) {
            const pos = parts.concat(name);
            const sub = await visit(
              childPath(abs, name), pos, m, sel.full ? FULL : (sel.children.get(name) ?? FULL), prefetch.take(name),
              prior?.type === NodeType.Dir ? prior.subtree : undefined, () => beforeChild(k),
            );
            if (sub === null) {
              if (holding) release(k);
              continue;
            }
            addSubtree(counts, sub);
            if (sameMetadata(m, prior!)) {
              if (holding) inner.set(name, sub);
              else keep(name, prior!, sub);
              continue;
            }
            event = { t: 'u', node: { ...m, subtree: prior!.subtree }, counts: sub };
          } else if (m.type === NodeType.File) {
            counts.files++;
            counts.bytes += m.size;
            const known = unchangedFile(m, prior);
            if (known && sameMetadata(m, prior)) {
              if (!holding) keep(name, prior, undefined);
              continue;
            }
            event = known ? { t: 'f', node: { ...m, content: prior.content, hash: prior.hash } }
              : ahead?.has(j) === true ? { t: 'f', node: m, path: childPath(abs, name), ahead: true }
              : { t: 'f', node: m, path: childPath(abs, name) };
          } else {
            counts.others++;
            if (prior !== undefined && sameMetadata(m, prior)) {
              if (!holding) keep(name, prior, undefined);
              continue;
            }
            event = { t: 'o', node: m };
          }
        }
        if (holding) release(k);
        const pos = event.t === 'u' ? parts.concat(name, EXIT) : parts.concat(name);
        if (isNew(pos)) {
          kept.flushTo(out());
          out().push({ event, pos });
        }
      }
    }
    if (holding) return counts;
    kept.flushTo(out());
    out().push({ event: { t: 'e' }, pos: parts.concat(EXIT) });
    return null;
  }

  yield* sink.run(async () => {
    await visit('/', [], statEntry('/', ''), opts.selection, parentNodes(parentBlob(opts.parentTree), opts.parentTree), opts.parentTree, () => {});
  });
}

/** A listed directory's metadata read again after listing it; the listing's own when it is no longer the same directory. */
function restat(abs: string, listed: TreeNode): TreeNode {
  try {
    const now = statEntry(abs, listed.name);
    return now.type === NodeType.Dir && now.inode === listed.inode ? now : listed;
  } catch {
    return listed;
  }
}

/**
 * The parent trees of one directory's subdirectories, in name order, with up
 * to PREFETCH_DIRS of them loading ahead of the walk. A directory the walk
 * does not visit (deleted since) just falls out of the window.
 */
class TreePrefetch {
  private readonly dirs: [string, Uint8Array | undefined][];
  private readonly loading = new Map<string, [Promise<Uint8Array | undefined>, Uint8Array | undefined]>();
  private next = 0;
  private readonly load: (tree: Uint8Array | undefined) => Promise<Uint8Array | undefined>;
  private readonly decode: (blob: Promise<Uint8Array | undefined>, tree: Uint8Array | undefined) => Promise<Map<string, TreeNode>>;

  constructor(
    prev: Map<string, TreeNode>,
    load: (tree: Uint8Array | undefined) => Promise<Uint8Array | undefined>,
    decode: (blob: Promise<Uint8Array | undefined>, tree: Uint8Array | undefined) => Promise<Map<string, TreeNode>>,
  ) {
    this.load = load;
    this.decode = decode;
    this.dirs = [...prev.values()].filter((n) => n.type === NodeType.Dir && n.subtree !== undefined).map((n) => [n.name, n.subtree]);
    this.dirs.sort((a, b) => compareNames(a[0], b[0]));
    this.fill();
  }

  /** The parent nodes of subdirectory `name` (empty when it is new). */
  take(name: string): Promise<Map<string, TreeNode>> {
    const p = this.loading.get(name);
    if (p === undefined) return Promise.resolve(new Map());
    this.loading.delete(name);
    // Skip window entries before `name`: those directories are gone now.
    for (const k of [...this.loading.keys()]) if (compareNames(k, name) < 0) this.loading.delete(k);
    this.fill();
    return this.decode(...p);
  }

  private fill(): void {
    while (this.loading.size < PREFETCH_DIRS && this.next < this.dirs.length) {
      const [name, tree] = this.dirs[this.next++]!;
      const p = this.load(tree);
      p.catch(() => {}); // parentBlob reports and swallows errors itself; this only guards unawaited ones
      this.loading.set(name, [p, tree]);
    }
  }
}
