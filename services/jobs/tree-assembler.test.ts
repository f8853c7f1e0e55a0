/** The finalizer's tree assembly: kept runs copy the parent's nodes, and a run that does not fit its tree is refused. */
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../storage/memory.ts';
import { Repository } from '../repo/repository.ts';
import { RepoWriter } from '../repo/repo-writer.ts';
import { InlineSealer } from '../repo/sealer.ts';
import { BlobType } from '../repo/blob.ts';
import { blobId } from '../crypto/tenant-keys.ts';
import { decodeTree, encodeTree, NodeType, type TreeNode } from '../repo/tree.ts';
import { TreeAssembler, decodeAssemblyEvents } from './tree-assembler.ts';
import { encodeEvents, type ScanEvent } from './scan-events.ts';

const node = (name: string, type: TreeNode['type'], size = 0): TreeNode => ({
  name, type, mode: 0o644, uid: 1, gid: 1, size, atimeNs: 1n, mtimeNs: 2n, ctimeNs: 3n, inode: 4n, device: 5n, nlink: 1,
  content: type === NodeType.File ? [] : undefined,
});

describe('tree assembler', () => {
  let repo: Repository;
  let parent: Uint8Array;
  const parentNodes = [node('a', NodeType.File, 10), node('b', NodeType.File, 20), node('c', NodeType.File, 30)];

  beforeAll(async () => {
    repo = await Repository.init(new MemoryStorage(), 'pw', { kdfMemoryMiB: 1 });
    const bytes = encodeTree(parentNodes);
    parent = blobId(repo.keys.idKey, bytes);
    const writer = new RepoWriter(repo, new InlineSealer());
    await writer.addBlob(BlobType.Tree, parent, bytes);
    await writer.flush();
  });

  const assemble = async (events: ScanEvent[]) => {
    const writer = new RepoWriter(repo, new InlineSealer());
    const a = new TreeAssembler(repo, writer);
    for (const e of decodeAssemblyEvents(encodeEvents(events), 'test events')) await a.push(e);
    await writer.flush();
    return a;
  };
  const counts = (files: number, bytes: number) => ({ files, dirs: 0, others: 0, bytes });
  const root = { t: 'd', node: node('', NodeType.Dir) } as const;

  it('merges kept runs with new entries into one listing, in name order', async () => {
    const a = await assemble([
      root,
      { t: 'k', tree: parent, first: 0, count: 1, counts: counts(1, 10) },
      { t: 'f', node: { ...node('bb', NodeType.File, 5) } },
      { t: 'k', tree: parent, first: 2, count: 1, counts: counts(1, 30) },
      { t: 'e' },
    ]);
    const nodes = decodeTree(await repo.readBlob(a.rootTree(), BlobType.Tree));
    expect(nodes.map((n) => n.name)).toEqual(['a', 'bb', 'c']);
    expect(nodes[2]).toEqual({ ...parentNodes[2], birthtimeNs: undefined, linkTarget: undefined, rdev: undefined, hash: undefined, subtree: undefined });
    expect(a.summary).toMatchObject({ files: 3, bytes: 45 });
  });

  it('stores each listing as encodeTree would, byte for byte', async () => {
    const sub = node('sub', NodeType.Dir);
    const a = await assemble([
      root,
      { t: 'k', tree: parent, first: 0, count: 3, counts: counts(3, 60) },
      { t: 'd', node: sub },
      { t: 'f', node: { ...node('x', NodeType.File, 3), content: [new Uint8Array(32).fill(1)], hash: -7n } },
      { t: 'o', node: { ...node('y', NodeType.Symlink), linkTarget: 'x' } },
      { t: 'e' },
      { t: 'e' },
    ]);
    const top = await repo.readBlob(a.rootTree(), BlobType.Tree);
    const nodes = decodeTree(top);
    expect(Buffer.from(top).equals(encodeTree(nodes))).toBe(true);
    expect(nodes.map((n) => n.name)).toEqual(['a', 'b', 'c', 'sub']);
    const below = await repo.readBlob(nodes[3]!.subtree!, BlobType.Tree);
    expect(Buffer.from(below).equals(encodeTree(decodeTree(below)))).toBe(true);
    expect(decodeTree(below).map((n) => n.name)).toEqual(['x', 'y']);
    expect(nodes[3]).toEqual({ ...sub, subtree: nodes[3]!.subtree, birthtimeNs: undefined, linkTarget: undefined, rdev: undefined, hash: undefined });
    expect(a.summary).toMatchObject({ files: 4, dirs: 1, others: 1, bytes: 63 });
  });

  it('refuses a run past the end of its tree, or from a tree the repository lacks', async () => {
    await expect(assemble([root, { t: 'k', tree: parent, first: 2, count: 2, counts: counts(2, 0) }])).rejects.toMatchObject({ code: 'jobs.inconsistent-scan' });
    await expect(assemble([root, { t: 'k', tree: new Uint8Array(32).fill(7), first: 0, count: 1, counts: counts(1, 0) }])).rejects.toThrow(/not|missing|unknown/i);
  });

  it('refuses runs that overlap the entries around them', async () => {
    const overlapping: ScanEvent[] = [root, { t: 'k', tree: parent, first: 0, count: 2, counts: counts(2, 30) }, { t: 'f', node: node('a', NodeType.File) }, { t: 'e' }];
    await expect(assemble(overlapping)).rejects.toMatchObject({ code: 'jobs.inconsistent-scan' });
  });
});
