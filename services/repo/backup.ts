/**
 * The backup engine: walks the selected paths, stores new content and one
 * tree blob per directory through a RepoWriter, then writes the snapshot.
 *
 * Order of writes (the repository's safety rule): packs, then index files
 * (RepoWriter.flush), then the snapshot. A crash before the snapshot leaves
 * only unreferenced data, which the next backup reuses.
 *
 * Change detection: a file whose size, mtime (ns) and inode match the parent
 * snapshot's node, and whose chunks are all in the index, reuses the parent's
 * content list without reading a byte.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { blobId } from '../crypto/tenant-keys.ts';
import { hash64, quickXor } from '../hash/quickxor.ts';
import { Semaphore } from '../storage/semaphore.ts';
import { listDir, statEntry } from '../sources/local-fs.ts';
import type { Repository } from './repository.ts';
import type { RepoWriter } from './repo-writer.ts';
import { BlobType } from './blob.ts';
import { NodeType, encodeTree, type TreeNode } from './tree.ts';
import { buildSelection, FULL, type Selection } from './selection.ts';
import { ContentReader, type ContentScanner } from './content.ts';
import { SnapshotStatus, type Snapshot, type SnapshotError } from './snapshot.ts';
import { fromHex } from './ids.ts';
import { errorCode, errorMessage } from './error-text.ts';

/** Files up to this size are read and hashed on the main thread; larger ones go to a scanner worker. */
const SMALL_FILE = 64 * 1024;
const MAX_RECORDED_ERRORS = 100;

export interface BackupProgress {
  files: number;
  dirs: number;
  bytes: number;
  filesRead: number;
  bytesRead: number;
  errors: number;
  currentPath: string;
}

export interface BackupOptions {
  readonly paths: readonly string[];
  readonly host: string;
  readonly source: string;
  readonly tags?: readonly string[];
  /** The snapshot to compare against; undefined means none. */
  readonly parent?: { id: string; snapshot: Snapshot } | undefined;
  readonly scanner: ContentScanner;
  readonly log: Logger;
  readonly onProgress?: (p: Readonly<BackupProgress>) => void;
  readonly fileConcurrency?: number;
  /** Overrides the selection built from `paths` (tracked-directory backups list files explicitly). */
  readonly selection?: Selection | undefined;
}

export interface BackupResult {
  readonly id: string;
  readonly snapshot: Snapshot;
}

export async function runBackup(repo: Repository, writer: RepoWriter, opts: BackupOptions): Promise<BackupResult> {
  return new BackupRun(repo, writer, opts).run();
}

class BackupRun {
  private readonly progress: BackupProgress = { files: 0, dirs: 0, bytes: 0, filesRead: 0, bytesRead: 0, errors: 0, currentPath: '' };
  private readonly errors: SnapshotError[] = [];
  private readonly reader = new ContentReader();
  private readonly smallFiles: Semaphore;
  private readonly largeFiles: Semaphore;
  private others = 0;
  private readonly repo: Repository;
  private readonly writer: RepoWriter;
  private readonly opts: BackupOptions;
  private lastReport = 0;

  constructor(repo: Repository, writer: RepoWriter, opts: BackupOptions) {
    this.repo = repo;
    this.writer = writer;
    this.opts = opts;
    const n = opts.fileConcurrency ?? 8;
    this.smallFiles = new Semaphore(n * 2);
    this.largeFiles = new Semaphore(n);
  }

  async run(): Promise<BackupResult> {
    const started = Date.now();
    const timeNs = BigInt(started) * 1_000_000n;
    const selection = this.opts.selection ?? buildSelection(this.opts.paths);
    const parentRoot = this.opts.parent?.snapshot.tree;
    const root = await this.saveDir('/', selection, parentRoot);
    await this.writer.flush();
    const snapshot: Snapshot = {
      version: 1,
      timeNs,
      host: this.opts.host,
      source: this.opts.source,
      paths: [...this.opts.paths],
      tree: root,
      parent: this.opts.parent ? fromHex(this.opts.parent.id) : undefined,
      tags: [...(this.opts.tags ?? [])],
      status: this.progress.errors > 0 ? SnapshotStatus.Warning : SnapshotStatus.Ok,
      summary: {
        files: this.progress.files,
        dirs: this.progress.dirs,
        others: this.others,
        bytes: this.progress.bytes,
        filesRead: this.reader.filesRead,
        newBytes: this.writer.stats.newBytes,
        newBlobs: this.writer.stats.newBlobs,
        storedBytes: this.writer.stats.storedBytes,
        durationMs: Date.now() - started,
      },
      errors: this.errors,
      errorCount: this.progress.errors,
    };
    const id = await this.repo.saveSnapshot(snapshot);
    this.report(true);
    return { id, snapshot };
  }

  private recordError(path: string, err: unknown): void {
    this.progress.errors++;
    const e = { path, code: errorCode(err), message: errorMessage(err) };
    if (this.errors.length < MAX_RECORDED_ERRORS) this.errors.push(e);
    this.opts.log.warn({ path, code: e.code, err: e.message }, 'cannot back up %s: %s', path, e.message);
  }

  private report(force = false): void {
    if (!this.opts.onProgress) return;
    const now = Date.now();
    if (!force && now - this.lastReport < 200) return;
    this.lastReport = now;
    this.progress.filesRead = this.reader.filesRead;
    this.progress.bytesRead = this.reader.bytesRead;
    this.opts.onProgress(this.progress);
  }

  private async parentNodes(tree: Uint8Array | undefined): Promise<Map<string, TreeNode>> {
    if (!tree) return new Map();
    try {
      return new Map((await this.repo.loadTree(tree)).map((n) => [n.name, n]));
    } catch (err) {
      // A damaged parent only costs speed: everything below is read afresh.
      this.opts.log.warn({ err: errorMessage(err) }, 'parent tree unreadable; reading files again');
      return new Map();
    }
  }

  /** Stores the tree of directory `abs` and returns its blob ID. */
  private async saveDir(abs: string, sel: Selection, parentTree: Uint8Array | undefined): Promise<Uint8Array> {
    const prev = await this.parentNodes(parentTree);
    let names: string[];
    if (sel.full) {
      try {
        const listing = await listDir(abs);
        names = listing.names;
        for (const bad of listing.undecodable) {
          this.recordError(join(abs, bad), new Error('file name is not valid UTF-8; skipped'));
        }
      } catch (err) {
        this.recordError(abs, err);
        names = [];
      }
    } else {
      names = [...sel.children.keys()];
      names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    }
    this.progress.currentPath = abs;
    const metas = await this.statAll(abs, names, !sel.full);
    const nodes: (TreeNode | Promise<TreeNode | null>)[] = [];
    for (const meta of metas) {
      if (!meta) continue;
      const path = join(abs, meta.name);
      const old = prev.get(meta.name);
      if (meta.type === NodeType.Dir) {
        const childSel = sel.full ? FULL : (sel.children.get(meta.name) ?? FULL);
        const subtree = await this.saveDir(path, childSel, old?.type === NodeType.Dir ? old.subtree : undefined);
        this.progress.dirs++;
        nodes.push({ ...meta, subtree });
      } else if (meta.type === NodeType.File) {
        nodes.push(this.saveFile(path, meta, old));
      } else {
        this.others++;
        nodes.push(meta);
      }
      this.report();
    }
    const done = (await Promise.all(nodes)).filter((n): n is TreeNode => n !== null);
    const bytes = encodeTree(done);
    const id = blobId(this.repo.keys.idKey, bytes);
    await this.writer.addBlob(BlobType.Tree, id, bytes);
    return id;
  }

  /**
   * lstat of every name, a batch at a time; failures are recorded and yield
   * null. In a partial directory the names come from the selection, and a
   * selected entry that no longer exists is simply gone, not an error.
   */
  private async statAll(abs: string, names: readonly string[], selected: boolean): Promise<(TreeNode | null)[]> {
    const out: (TreeNode | null)[] = [];
    for (let i = 0; i < names.length; i += 64) {
      const batch = names.slice(i, i + 64);
      out.push(
        ...(await Promise.all(
          batch.map((name) =>
            statEntry(join(abs, name), name).catch((err: unknown) => {
              if (selected && (err as NodeJS.ErrnoException).code === 'ENOENT') return null;
              this.recordError(join(abs, name), err);
              return null;
            }),
          ),
        )),
      );
    }
    return out;
  }

  private unchanged(meta: TreeNode, old: TreeNode | undefined): old is TreeNode & { content: readonly Uint8Array[] } {
    return (
      old !== undefined &&
      old.type === NodeType.File &&
      old.size === meta.size &&
      old.mtimeNs === meta.mtimeNs &&
      old.inode === meta.inode &&
      old.content !== undefined &&
      old.content.every((id) => this.writer.has(id))
    );
  }

  private async saveFile(path: string, meta: TreeNode, old: TreeNode | undefined): Promise<TreeNode | null> {
    this.progress.files++;
    this.progress.bytes += meta.size;
    if (this.unchanged(meta, old)) return { ...meta, content: old.content, hash: old.hash };
    const small = meta.size <= SMALL_FILE;
    const release = await (small ? this.smallFiles : this.largeFiles).acquire();
    try {
      const node = small ? await this.saveSmall(path, meta) : await this.saveLarge(path, meta);
      this.report();
      return node;
    } catch (err) {
      this.recordError(path, err);
      return null;
    } finally {
      release();
    }
  }

  private async saveSmall(path: string, meta: TreeNode): Promise<TreeNode> {
    const data = await this.reader.readWhole(path);
    const hash = hash64(quickXor(data));
    if (data.length === 0) return { ...meta, size: 0, content: [], hash };
    const id = blobId(this.repo.keys.idKey, data);
    const size = data.length; // addBlob may hand `data` to a worker thread, detaching it
    await this.writer.addBlob(BlobType.Data, id, data);
    return { ...meta, size, content: [id], hash };
  }

  private async saveLarge(path: string, meta: TreeNode): Promise<TreeNode> {
    const scanned = await this.opts.scanner.scanFile(path, meta.size);
    this.reader.noteScanned(scanned.size);
    for (const c of scanned.chunks) {
      if (c.data !== undefined) await this.writer.addBlob(BlobType.Data, c.id, c.data);
    }
    // Chunks of files too large to come back whole are read again, one at a time, if still unknown.
    const missing = scanned.chunks.filter((c) => c.data === undefined && !this.writer.has(c.id));
    let i = 0;
    for await (const data of this.reader.readRanges(path, missing)) {
      const c = missing[i++]!;
      // A chunk read a second time must still be the chunk that was hashed, or the blob would lie about its ID.
      if (!Buffer.from(blobId(this.repo.keys.idKey, data)).equals(c.id)) {
        throw new Error(`file changed while it was being read (at byte ${c.offset}); back it up again`);
      }
      await this.writer.addBlob(BlobType.Data, c.id, data);
    }
    return { ...meta, size: scanned.size, content: scanned.chunks.map((c) => c.id), hash: scanned.hash };
  }
}
