/**
 * Replays the scan event stream (all batches, in order, content filled in)
 * and stores one tree blob per directory, bottom-up. Memory is one open
 * directory per level of depth, plus a few of the parent snapshot's trees
 * that "k" events copy from: a job of any size never needs the whole tree
 * in memory.
 *
 * Nodes stay the canonical bytes they arrive as (NodeBytes): a directory's
 * listing is the concatenation of its entries' bytes, and a kept run is a
 * copy of the parent tree's. Decoding every node into an object only to
 * encode it again was work and garbage for nothing (docs/BENCHMARKS.md has
 * what leaving it out measured).
 */
import type { Repository } from '../repo/repository.ts';
import type { RepoWriter } from '../repo/repo-writer.ts';
import { BlobType } from '../repo/blob.ts';
import { beginTree, compareNames } from '../repo/tree.ts';
import { readNodeBytes, withSubtree, type NodeBytes } from '../repo/node-bytes.ts';
import { decodeVersion1List } from '../repo/version1-list.ts';
import { CanonicalWriter } from '../codec/canonical-msgpack.ts';
import { blobId } from '../crypto/tenant-keys.ts';
import { idKey, toHex } from '../repo/ids.ts';
import type { SnapshotError } from '../repo/snapshot.ts';
import { FerryError } from '../../protocol/errors.ts';
import { addCounts, addSubtree, decodeEventsWith, nodeBytes, type ScanEventOf } from './scan-events.ts';

const MAX_RECORDED_ERRORS = 100;
/** Parent trees kept for kept runs: a changed directory's runs all come from its one parent tree. */
const KEPT_TREES = 16;

export type AssemblyEvent = ScanEventOf<NodeBytes>;

/** Decodes a batch of scan events (a fragment's) for TreeAssembler.push. */
export function decodeAssemblyEvents(bytes: Uint8Array, what: string): AssemblyEvent[] {
  return decodeEventsWith(bytes, what, nodeBytes);
}

export interface AssemblySummary {
  files: number;
  dirs: number;
  others: number;
  bytes: number;
  errorCount: number;
  readonly errors: SnapshotError[];
}

interface OpenDir {
  /** The directory's own node (a copy: the fragment it came in need not stay in memory). */
  readonly meta: NodeBytes;
  /** Its entries' bytes so far, in name order. */
  readonly listing: CanonicalWriter;
  count: number;
  /** Name of the last entry, which the next must sort after. */
  last: string | undefined;
}

export class TreeAssembler {
  readonly summary: AssemblySummary = { files: 0, dirs: 0, others: 0, bytes: 0, errorCount: 0, errors: [] };
  private readonly stack: OpenDir[] = [];
  private root: Uint8Array | undefined;
  private readonly repo: Repository;
  private readonly writer: RepoWriter;
  private readonly keptTrees = new Map<string, NodeBytes[]>();

  constructor(repo: Repository, writer: RepoWriter) {
    this.repo = repo;
    this.writer = writer;
  }

  private inconsistent(msg: string): FerryError {
    return new FerryError('jobs.inconsistent-scan', `the scan event stream is inconsistent (${msg}); the source probably changed while a scan resumed; run the backup again`);
  }

  async push(e: AssemblyEvent): Promise<void> {
    if (this.root) throw this.inconsistent('events after the root closed');
    const top = this.stack.at(-1);
    switch (e.t) {
      case 'd':
        this.stack.push({ meta: { ...e.node, bytes: e.node.bytes.slice() }, listing: new CanonicalWriter(4096), count: 0, last: undefined });
        return;
      case 'e': {
        const dir = this.stack.pop();
        if (!dir) throw this.inconsistent('exit without enter');
        const id = await this.storeTree(dir);
        const parent = this.stack.at(-1);
        if (parent) {
          this.append(parent, dir.meta.name, withSubtree(dir.meta, id, 'a directory of the scan'));
          this.summary.dirs++;
        } else {
          this.root = id;
        }
        return;
      }
      case 'f':
        if (!top) throw this.inconsistent('file outside any directory');
        if (!e.node.hasContent) throw this.inconsistent(`file ${e.node.name} has no content`);
        this.append(top, e.node.name, e.node.bytes);
        this.summary.files++;
        this.summary.bytes += e.node.size;
        return;
      case 'u':
        if (!top) throw this.inconsistent('directory outside any directory');
        this.append(top, e.node.name, e.node.bytes);
        addSubtree(this.summary, e.counts);
        return;
      case 'k': {
        if (!top) throw this.inconsistent('kept entries outside any directory');
        const from = await this.keptTree(e.tree);
        if (e.first + e.count > from.length) throw this.inconsistent(`kept entries ${e.first}..${e.first + e.count - 1} of a ${from.length}-entry tree`);
        for (let i = e.first; i < e.first + e.count; i++) this.append(top, from[i]!.name, from[i]!.bytes);
        addCounts(this.summary, e.counts);
        return;
      }
      case 'o':
        if (!top) throw this.inconsistent('entry outside any directory');
        this.append(top, e.node.name, e.node.bytes);
        this.summary.others++;
        return;
      case 'x':
        this.summary.errorCount++;
        if (this.summary.errors.length < MAX_RECORDED_ERRORS) this.summary.errors.push({ path: e.path, code: e.code, message: e.message });
    }
  }

  private append(dir: OpenDir, name: string, bytes: Uint8Array): void {
    if (dir.last !== undefined && compareNames(dir.last, name) >= 0) throw this.inconsistent(`entries out of order or duplicated at ${name}`);
    dir.listing.raw(bytes);
    dir.count++;
    dir.last = name;
  }

  /** A parent tree's nodes as bytes (views of its decrypted blob), from a small cache. */
  private async keptTree(id: Uint8Array): Promise<NodeBytes[]> {
    const k = idKey(id);
    let nodes = this.keptTrees.get(k);
    if (nodes === undefined) {
      const what = `tree ${toHex(id)}`;
      nodes = decodeVersion1List(await this.repo.readBlob(id, BlobType.Tree), 'nodes', (r) => readNodeBytes(r, what), 'tree', what);
      if (this.keptTrees.size >= KEPT_TREES) this.keptTrees.delete(this.keptTrees.keys().next().value!);
      this.keptTrees.set(k, nodes);
    }
    return nodes;
  }

  /** Encodes the listing as encodeTree() would (the same bytes: its entries are canonical) and stores it. */
  private async storeTree(dir: OpenDir): Promise<Uint8Array> {
    const listing = dir.listing.finish();
    const bytes = beginTree(dir.count, listing.length + 16).raw(listing).finish();
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
