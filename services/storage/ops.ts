/**
 * Names of the Storage operations, shared by wrappers that report or target
 * a specific operation (retry hooks, fault injection).
 */
export const StorageOp = {
  Save: 'save',
  Load: 'load',
  Stat: 'stat',
  List: 'list',
  Remove: 'remove',
} as const;
export type StorageOp = (typeof StorageOp)[keyof typeof StorageOp];
