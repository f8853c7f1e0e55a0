/**
 * Walks the selected paths of a local source depth-first, in name order,
 * and yields scan events with their positions. Files whose size, mtime (ns)
 * and inode match the parent snapshot's node, and whose blobs are all
 * indexed, carry the parent's content and are not read again.
 *
 * Resuming: with `after`, events at or before that position are not
 * yielded and finished subtrees are not even listed, so a restarted scanner
 * continues where its last published batch ended.
 */
import { join } from 'node:path';
import type { Repository } from '../repo/repository.ts';
import { listDir, statEntry } from '../sources/local-fs.ts';
import { compareNames, NodeType, type TreeNode } from '../repo/tree.ts';
import { FULL, type Selection } from '../repo/selection.ts';
import { errorCode, errorMessage } from '../repo/error-text.ts';
import { EXIT, comparePositions, type Position, type ScanEvent } from './scan-events.ts';

export interface WalkOptions {
  readonly repo: Repository;
  readonly selection: Selection;
  /** Root tree of the parent snapshot, for change detection. */
  readonly parentTree?: Uint8Array | undefined;
  readonly after?: Position | undefined;
  readonly onParentError?: (err: unknown) => void;
}

export interface WalkItem {
  readonly event: ScanEvent;
  readonly pos: Position;
}

/** Entries stat'ed (synchronously) between two yields to the event loop. */
const STAT_BATCH = 256;

/** Parent trees of upcoming sibling directories loaded ahead, so the walk does not wait on each read. */
const PREFETCH_DIRS = 32;

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function* walkSource(opts: WalkOptions): AsyncGenerator<WalkItem> {
  const after = opts.after;
  const isNew = (pos: Position) => after === undefined || comparePositions(pos, after) > 0;
  const indexed = (n: TreeNode) => (n.content ?? []).every((id) => opts.repo.index.has(id));

  async function parentNodes(tree: Uint8Array | undefined): Promise<Map<string, TreeNode>> {
    if (!tree) return new Map();
    try {
      return new Map((await opts.repo.loadTree(tree)).map((n) => [n.name, n]));
    } catch (err) {
      opts.onParentError?.(err);
      return new Map();
    }
  }

  function fileEvent(node: TreeNode, path: string, old: TreeNode | undefined): ScanEvent {
    const unchanged =
      old !== undefined && old.type === NodeType.File && old.size === node.size && old.mtimeNs === node.mtimeNs &&
      old.inode === node.inode && old.content !== undefined && indexed(old);
    return unchanged ? { t: 'f', node: { ...node, content: old.content, hash: old.hash } } : { t: 'f', node, path };
  }

  async function* visit(abs: string, parts: string[], meta: TreeNode, sel: Selection, parentTree: Promise<Map<string, TreeNode>>): AsyncGenerator<WalkItem> {
    if (!isNew([...parts, EXIT])) return; // whole subtree already published
    if (isNew(parts)) yield { event: { t: 'd', node: meta }, pos: parts };
    const prev = await parentTree;
    const prefetch = new TreePrefetch(prev, parentNodes);
    let names: string[];
    const errors: ScanEvent[] = [];
    if (sel.full) {
      try {
        const listing = await listDir(abs);
        names = listing.names;
        for (const bad of listing.undecodable) errors.push({ t: 'x', path: join(abs, bad), code: 'name.not-utf8', message: 'file name is not valid UTF-8; skipped' });
      } catch (err) {
        errors.push({ t: 'x', path: abs, code: errorCode(err), message: errorMessage(err) });
        names = [];
      }
    } else {
      names = [...sel.children.keys()].sort(compareNames);
    }
    for (const e of errors) if (isNew(parts)) yield { event: e, pos: parts };
    for (let i = 0; i < names.length; i += STAT_BATCH) {
      const batch = names.slice(i, i + STAT_BATCH);
      if (i > 0) await tick();
      const metas = batch.map((name): TreeNode | ScanEvent | null => {
        try {
          return statEntry(join(abs, name), name);
        } catch (err) {
          // An entry the selection names that no longer exists is simply gone.
          return !sel.full && (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : { t: 'x', path: join(abs, name), code: errorCode(err), message: errorMessage(err) };
        }
      });
      for (const [j, m] of metas.entries()) {
        if (m === null) continue;
        const name = batch[j]!;
        const pos = [...parts, name];
        if ('t' in m) {
          if (isNew(pos)) yield { event: m, pos };
          continue;
        }
        const path = join(abs, name);
        const old = prev.get(name);
        if (m.type === NodeType.Dir) {
          yield* visit(path, pos, m, sel.full ? FULL : (sel.children.get(name) ?? FULL), prefetch.take(name));
        } else if (isNew(pos)) {
          yield { event: m.type === NodeType.File ? fileEvent(m, path, old) : { t: 'o', node: m }, pos };
        }
      }
    }
    yield { event: { t: 'e' }, pos: [...parts, EXIT] };
  }

  const root = statEntry('/', '');
  yield* visit('/', [], root, opts.selection, parentNodes(opts.parentTree));
}

/**
 * The parent trees of one directory's subdirectories, in name order, with up
 * to PREFETCH_DIRS of them loading ahead of the walk. A directory the walk
 * does not visit (deleted since) just falls out of the window.
 */
class TreePrefetch {
  private readonly dirs: [string, Uint8Array | undefined][];
  private readonly loading = new Map<string, Promise<Map<string, TreeNode>>>();
  private next = 0;
  private readonly load: (tree: Uint8Array | undefined) => Promise<Map<string, TreeNode>>;

  constructor(prev: Map<string, TreeNode>, load: (tree: Uint8Array | undefined) => Promise<Map<string, TreeNode>>) {
    this.load = load;
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
    return p;
  }

  private fill(): void {
    while (this.loading.size < PREFETCH_DIRS && this.next < this.dirs.length) {
      const [name, tree] = this.dirs[this.next++]!;
      const p = this.load(tree);
      p.catch(() => {}); // parentNodes reports and swallows errors itself; this only guards unawaited ones
      this.loading.set(name, p);
    }
  }
}
