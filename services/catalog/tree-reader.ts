/**
 * Read-side navigation of the node tree: path lookup, path rebuilding and
 * child listing. Every method is a handful of indexed point reads; nothing
 * here scans more than one directory's children.
 */
import { CatalogError, CatalogErrorCode } from './errors.ts';
import { fromStoredMtime, isDeletedK, kindOfK, ROOT_ID } from './node-codes.ts';
import { compareNames } from '../repo/tree.ts';
import type { DirRow, FileRow, Statements } from './statements.ts';
import { NodeKind, type CatalogNode } from './types.ts';

/** Deeper than any real tree; a longer parent chain means a cycle. */
const MAX_DEPTH = 4096;
const PAGE = 512;

export function dirNode(r: DirRow): CatalogNode {
  return { nodeId: r.node_id, parentId: r.parent_id, name: r.name, kind: NodeKind.Dir, size: 0, mtimeMs: fromStoredMtime(Number(r.mtime)), hash: 0n, deleted: r.deleted !== 0n };
}

export function fileNode(r: FileRow): CatalogNode {
  const k = Number(r.k);
  return { nodeId: r.node_id, parentId: r.parent_id, name: r.name, kind: kindOfK(k), size: Number(r.size), mtimeMs: fromStoredMtime(Number(r.mtime)), hash: r.hash, deleted: isDeletedK(k) };
}

export function notFound(nodeId: bigint): CatalogError {
  return new CatalogError(CatalogErrorCode.NotFound, `no catalog node ${nodeId}`, { details: { nodeId: nodeId.toString() } });
}

export class TreeReader {
  private readonly s: Statements;

  constructor(s: Statements) {
    this.s = s;
  }

  /**
   * The node at `path`, deleted or not, or undefined. When a directory and a
   * file share the last name (one of them deleted), the live one wins; if
   * both are deleted, the file.
   */
  lookup(path: readonly string[]): CatalogNode | undefined {
    let parent = ROOT_ID;
    const last = path.length - 1;
    if (last < 0) {
      const root = this.s.dirById.get(ROOT_ID);
      return root && dirNode(root);
    }
    for (let i = 0; i < last; i++) {
      const d = this.s.dirByName.get(parent, path[i]);
      if (!d) return undefined;
      parent = d.node_id;
    }
    const name = path[last] as string;
    const d = this.s.dirByName.get(parent, name);
    const f = this.s.fileByName.get(parent, name);
    if (d && f) return d.deleted === 0n && isDeletedK(Number(f.k)) ? dirNode(d) : fileNode(f);
    if (d) return dirNode(d);
    return f && fileNode(f);
  }

  /** The row of a non-directory node (negative id), found via file_moves, else file_ranges. */
  fileRow(nodeId: bigint): FileRow | undefined {
    const parent = this.s.movedParent.get(nodeId) ?? this.s.rangeParent.get(-nodeId);
    return parent === undefined ? undefined : this.s.fileInDir.get(parent, nodeId);
  }

  /** Names from the root to `nodeId` ([] for the root). Throws catalog.not-found for unknown ids. */
  pathOf(nodeId: bigint): string[] {
    const names: string[] = [];
    let cur = nodeId;
    if (cur < 0n) {
      const f = this.fileRow(cur);
      if (!f) throw notFound(nodeId);
      names.push(f.name);
      cur = f.parent_id;
    }
    for (let depth = 0; cur !== ROOT_ID; depth++) {
      const d = this.s.dirById.get(cur);
      if (!d) {
        if (cur === nodeId) throw notFound(nodeId);
        throw new CatalogError(CatalogErrorCode.Corrupt, `node ${nodeId} has a missing ancestor ${cur}`, { details: { nodeId: nodeId.toString() } });
      }
      if (depth > MAX_DEPTH) throw new CatalogError(CatalogErrorCode.Corrupt, `parent chain of node ${nodeId} loops`, { details: { nodeId: nodeId.toString() } });
      names.push(d.name);
      cur = d.parent_id;
    }
    return names.reverse();
  }

  /** Throws catalog.not-found unless `nodeId` is a directory. */
  requireDir(nodeId: bigint): DirRow {
    const d = nodeId > 0n ? this.s.dirById.get(nodeId) : undefined;
    if (!d) throw notFound(nodeId);
    return d;
  }

  /**
   * Children of directory `dirId` (deleted ones included) in name order,
   * read in pages so no cursor stays open between yields; the caller may
   * write to the catalog while iterating.
   */
  *children(dirId: bigint): Generator<CatalogNode> {
    const dirs = paged((after) => this.s.dirChildrenAfter.all(dirId, after, PAGE));
    const files = paged((after) => this.s.fileChildrenAfter.all(dirId, after, PAGE));
    let d = dirs.next();
    let f = files.next();
    while (!d.done || !f.done) {
      if (!d.done && (f.done || compareNames(d.value.name, f.value.name) <= 0)) {
        yield dirNode(d.value);
        d = dirs.next();
      } else if (!f.done) {
        yield fileNode(f.value);
        f = files.next();
      }
    }
  }
}

/** Keyset pagination over rows sorted by name; names are never empty, so '' starts before all. */
function* paged<R extends { name: string }>(fetch: (after: string) => R[]): Generator<R> {
  let after = '';
  for (;;) {
    const rows = fetch(after);
    yield* rows;
    const last = rows.at(-1);
    if (rows.length < PAGE || !last) return;
    after = last.name;
  }
}
