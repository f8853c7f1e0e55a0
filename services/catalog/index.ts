/** The catalog: a compact local node tree with per-file history (see catalog.ts). */
export { Catalog, type CatalogOpenOptions } from './catalog.ts';
export { CatalogError, CatalogErrorCode } from './errors.ts';
export { NodeKind } from './types.ts';
export type { ApplyResult, CatalogEntry, CatalogNode, CatalogStats, DirListing, FileVersion, Listings, SnapshotRef } from './types.ts';
