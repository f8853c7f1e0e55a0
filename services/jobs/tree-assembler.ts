/**
 * Replays the scan event stream (all batches, in order, content filled in)
 * and stores one tree blob per directory, bottom-up. Memory is one open
 * directory per level of depth, plus the repository's bounded cache of the
 * parent snapshot's trees that "k" events copy from: a job of any size
 * never needs the whole tree in memory.
 */
import type { Repository } from '../repo/repository.ts';
import type { RepoWriter } from '../repo/repo-writer.ts';
import { BlobType } from '../repo/blob.ts';
import { compareNames, encodeTree, type TreeNode } from '../repo/tree.ts';
import { blobId } from '../crypto/tenant-keys.ts';
import type { SnapshotError } from '../repo/snapshot.ts';
import { FerryError } from '../../protocol/errors.ts';
import { addCounts, addSubtree, type ScanEvent } from './scan-events.ts';

const MAX_RECORDED_ERRORS = 100;

export interface AssemblySummary {
  files: number;
  dirs: number;
  others: number;
  bytes: number;
  errorCount: number;
  readonly errors: SnapshotError[];
}

interface OpenDir {
  readonly meta: TreeNode;
  readonly nodes: TreeNode[];
}

export class TreeAssembler {
  readonly summary: AssemblySummary = { files: 0, dirs: 0, others: 0, bytes: 0, errorCount: 0, errors: [] };
  private readonly stack: OpenDir[] = [];
  private root: Uint8Array | undefined;
  private readonly repo: Repository;
  private readonly writer: RepoWriter;

  constructor(repo: Repository, writer: RepoWriter) {
    this.repo = repo;
    this.writer = writer;
  }

  private inconsistent(msg: string): FerryError {
    return new FerryError('jobs.inconsistent-scan', `the scan event stream is inconsistent (${msg}); the source probably changed while a scan resumed; run the backup again`);
  }

  async push(e: ScanEvent): Promise<void> {
    if (this.root) throw this.inconsistent('events after the root closed');
    const top = this.stack.at(-1);
    switch (e.t) {
      case 'd':
        this.stack.push({ meta: e.node, nodes: [] });
        return;
      case 'e': {
        const dir = this.stack.pop();
        if (!dir) throw this.inconsistent('exit without enter');
        const id = await this.storeTree(dir.nodes);
        const parent = this.stack.at(-1);
        if (parent) {
          parent.nodes.push({ ...dir.meta, subtree: id });
          this.summary.dirs++;
        } else {
          this.root = id;
        }
        return;
      }
      case 'f':
        if (!top) throw this.inconsistent('file outside any directory');
        if (e.node.content === undefined) throw this.inconsistent(`file ${e.node.name} has no content`);
        top.nodes.push(e.node);
        this.summary.files++;
        this.summary.bytes += e.node.size;
        return;
      case 'u':
        if (!top) throw this.inconsistent('directory outside any directory');
        top.nodes.push(e.node);
        addSubtree(this.summary, e.counts);
        return;
      case 'k': {
        if (!top) throw this.inconsistent('kept entries outside any directory');
        // loadTree's cache serves a directory's later runs from the same tree.
        const from = await this.repo.loadTree(e.tree);
        if (e.first + e.count > from.length) throw this.inconsistent(`kept entries ${e.first}..${e.first + e.count - 1} of a ${from.length}-entry tree`);
        for (let i = e.first; i < e.first + e.count; i++) top.nodes.push(from[i]!);
        addCounts(this.summary, e.counts);
        return;
      }
      case 'o':
        if (!top) throw this.inconsistent('entry outside any directory');
        top.nodes.push(e.node);
        this.summary.others++;
        return;
      case 'x':
        this.summary.errorCount++;
        if (this.summary.errors.length < MAX_RECORDED_ERRORS) this.summary.errors.push({ path: e.path, code: e.code, message: e.message });
    }
  }

  private async storeTree(nodes: TreeNode[]): Promise<Uint8Array> {
    for (let i = 1; i < nodes.length; i++) {
      if (compareNames(nodes[i - 1]!.name, nodes[i]!.name) >= 0) throw this.inconsistent(`entries out of order or duplicated at ${nodes[i]!.name}`);
    }
    const bytes = encodeTree(nodes);
    const id = blobId(this.repo.keys.idKey, bytes);
    await this.writer.addBlob(BlobType.Tree, id, bytes);
    return id;
  }

  /** The root tree ID, once the root directory's exit event has been pushed. */
  rootTree(): Uint8Array {
    if (!this.root || this.stack.length > 0) throw this.inconsistent('the walk did not finish');
    return this.root;
  }
}
