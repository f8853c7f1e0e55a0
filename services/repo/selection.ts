/**
 * Which parts of the filesystem a snapshot covers. Backed-up paths are
 * absolute; the snapshot's root tree is `/`, with the ancestors of each path
 * as partial directories (only the selected child listed) and each path
 * itself included in full.
 */
import { isAbsolute, normalize, sep } from 'node:path';
import { RepoError, RepoErrorCode } from './errors.ts';

export interface Selection {
  /** Everything below is included. */
  readonly full: boolean;
  readonly children: Map<string, Selection>;
}

export const FULL: Selection = { full: true, children: new Map() };

export function splitPath(abs: string): string[] {
  return normalize(abs).split(sep).filter((c) => c.length > 0);
}

export function buildSelection(paths: readonly string[]): Selection {
  const root: Selection = { full: false, children: new Map() };
  for (const p of paths) {
    if (!isAbsolute(p)) throw new RepoError(RepoErrorCode.Unsupported, `backup path ${p} must be absolute`);
    const parts = splitPath(p);
    if (parts.length === 0) return FULL;
    let node = root;
    for (const [i, part] of parts.entries()) {
      if (node.full) break;
      const last = i === parts.length - 1;
      let child = node.children.get(part);
      if (!child || last) {
        child = last ? FULL : { full: false, children: new Map() };
        node.children.set(part, child);
      }
      node = child;
    }
  }
  return root;
}
