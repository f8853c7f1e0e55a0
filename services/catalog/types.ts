/**
 * Value types of the catalog's public contract.
 *
 * Sizes are numbers (byte counts stay far below 2^53); hashes are 64-bit
 * content hashes carried as signed bigints because they are stored as a
 * signed SQLite INTEGER; node ids are bigints because they are int64.
 * Names are single path components: never empty (except the root's ''),
 * never containing '/'. Names sort by UTF-8 bytes (SQLite BINARY collation),
 * which is code point order.
 */

export const NodeKind = {
  File: 'file',
  Dir: 'dir',
  Symlink: 'symlink',
  Other: 'other',
} as const;
export type NodeKind = (typeof NodeKind)[keyof typeof NodeKind];

/** One child of a directory as a snapshot saw it. */
export interface CatalogEntry {
  readonly name: string;
  readonly kind: NodeKind;
  readonly size: number;
  /** Unix time in milliseconds; the catalog keeps whole seconds (see catalog.ts). */
  readonly mtimeMs: number;
  /** 64-bit content hash. Unsigned values are accepted and stored (and returned) as their signed equivalent. Directories use 0n. */
  readonly hash: bigint;
}

/**
 * The children of one directory in one snapshot.
 *
 * `path` holds components from the root (`[]` is the root).
 * `complete: true` means `entries` is the full child list, so children the
 * catalog knows but the listing lacks are marked deleted. `complete: false`
 * (ancestors of the backed-up paths) only upserts what it lists.
 * Listings arrive parent-before-child; a directory whose parent was never
 * listed is created implicitly.
 */
export interface DirListing {
  readonly path: readonly string[];
  readonly complete: boolean;
  readonly entries: readonly CatalogEntry[];
}

/** A row of the node tree: the current (or last, if deleted) version of a node. */
export interface CatalogNode {
  /** > 0 for directories (root is 1), < 0 for every other kind. */
  readonly nodeId: bigint;
  /** The containing directory; 0n for the root. */
  readonly parentId: bigint;
  readonly name: string;
  readonly kind: NodeKind;
  readonly size: number;
  readonly mtimeMs: number;
  readonly hash: bigint;
  readonly deleted: boolean;
}

/** One version of a node: the state it had from `snapshotId` until the next (newer) version. */
export interface FileVersion {
  /** The snapshot this state first appeared in. */
  readonly snapshotId: string;
  readonly snapshotTime: Date;
  readonly size: number;
  readonly mtimeMs: number;
  readonly hash: bigint;
  /** True when the node was absent from that snapshot on (size/mtime/hash are the last known values). */
  readonly deleted: boolean;
}

export interface SnapshotRef {
  /** Snapshot id, a hex string. */
  readonly id: string;
  readonly time: Date;
}

export interface ApplyResult {
  /** The catalog's small integer for this snapshot. */
  readonly seq: number;
  /** Nodes created or reappearing. */
  readonly added: number;
  /** Non-directory nodes whose kind, size, mtime or hash changed. */
  readonly changed: number;
  /** Nodes marked deleted, descendants of deleted directories included. */
  readonly deleted: number;
}

export interface CatalogStats {
  /** Rows in the node tree (files and directories, deleted ones included). */
  readonly nodes: number;
  /** Non-directory nodes. */
  readonly files: number;
  readonly dirs: number;
  /** page_count * page_size of the main database. */
  readonly bytes: number;
  readonly bytesPerNode: number;
}

export type Listings = Iterable<DirListing> | AsyncIterable<DirListing>;
