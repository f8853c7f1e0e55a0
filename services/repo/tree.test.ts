/** The fast node writer must produce exactly the bytes of the reference map (nodeToCanonical). */
import { describe, expect, it } from 'vitest';
import { CanonicalWriter, encodeCanonical } from '../codec/canonical-msgpack.ts';
import { decodeTree, encodeTree, nodeToCanonical, writeNode, NodeType, type TreeNode } from './tree.ts';

const base: TreeNode = {
  name: 'naïve café.txt', type: NodeType.File, mode: 0o4755, uid: 70000, gid: 0, size: 5_000_000_000,
  atimeNs: 1n, mtimeNs: 1700000000123456789n, ctimeNs: -5n, inode: 2n ** 40n, device: 2049n, nlink: 3,
};
const variants: TreeNode[] = [
  base,
  { ...base, birthtimeNs: 1600000000000000000n, content: [new Uint8Array(32).fill(7), new Uint8Array(32)], hash: -(2n ** 63n) },
  { ...base, type: NodeType.Symlink, linkTarget: '../x'.repeat(20), size: 0 },
  { ...base, type: NodeType.CharDevice, rdev: 1025n, name: 'x'.repeat(300) },
  { ...base, type: NodeType.Dir, subtree: new Uint8Array(32).fill(9), content: [] },
];

describe('tree node encoding', () => {
  for (const [i, n] of variants.entries()) {
    it(`writes variant ${i} exactly as the reference map`, () => {
      const w = new CanonicalWriter();
      writeNode(w, n);
      expect(Buffer.from(w.finish()).toString('hex')).toBe(Buffer.from(encodeCanonical(nodeToCanonical(n))).toString('hex'));
    });
  }

  it('round-trips a tree', () => {
    const back = decodeTree(encodeTree(variants));
    expect(back.map((n) => n.name)).toEqual(variants.map((n) => n.name));
    expect(back[1]!.hash).toBe(-(2n ** 63n));
    expect(back[0]!.size).toBe(5_000_000_000);
  });
});
