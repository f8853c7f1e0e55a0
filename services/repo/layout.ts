/**
 * Where each kind of object lives in storage (docs/design.md, "Layout").
 * Data packs sit under `data/` and everything else outside it, so a storage
 * class (e.g. cold archive) can be applied to file content alone.
 */
import { toHex, type Id } from './ids.ts';

export const PackKind = { Data: 0, Tree: 1 } as const;
export type PackKind = (typeof PackKind)[keyof typeof PackKind];

export const Prefix = {
  config: 'config',
  keys: 'keys/',
  index: 'index/',
  snapshots: 'snapshots/',
  data: 'data/',
  tree: 'tree/',
  prune: 'prune/',
} as const;

export function packName(kind: PackKind, id: Id): string {
  const hex = toHex(id);
  return `${kind === PackKind.Data ? Prefix.data : Prefix.tree}${hex.slice(0, 2)}/${hex}`;
}

export const indexName = (id: Id): string => `${Prefix.index}${toHex(id)}`;
export const snapshotName = (id: Id): string => `${Prefix.snapshots}${toHex(id)}`;
export const keyName = (id: Id): string => `${Prefix.keys}${toHex(id)}`;
export const pruneMarkName = (id: Id): string => `${Prefix.prune}${toHex(id)}`;

/** The hex ID at the end of an object name. */
export const idOfName = (name: string): string => name.slice(name.lastIndexOf('/') + 1);
