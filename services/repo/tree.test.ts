/** The fast node writer must produce exactly the bytes of the reference map (nodeToCanonical). */
import { describe, expect, it } from 'vitest';
import { CanonicalWriter, decodeMsgpack, encodeCanonical } from '../codec/canonical-msgpack.ts';
import { compareNames, decodeTree, encodeTree, nodeFromCanonical, nodeToCanonical, writeNode, NodeType, type TreeNode } from './tree.ts';
import { seededRandom } from '../storage/prng.ts';
import { pack } from 'msgpackr';

const base: TreeNode = {
  name: 'naïve café.txt', type: NodeType.File, mode: 0o4755, uid: 70000, gid: 0, size: 5_000_000_000,
  atimeNs: 1n, mtimeNs: 1700000000123456789n, ctimeNs: -5n, inode: 2n ** 40n, device: 2049n, nlink: 3,
};
/** The members that are set (msgpackr would write undefined as an extension type). */
const defined = (o: unknown) => Object.fromEntries(Object.entries(o as object).filter(([, v]) => v !== undefined));

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

  it('decodes exactly as the generic decoder does', () => {
    const bytes = encodeTree(variants);
    const generic = (decodeMsgpack(bytes, 't') as { nodes: Record<string, unknown>[] }).nodes.map((raw) => nodeFromCanonical(raw, 't'));
    expect(decodeTree(bytes)).toEqual(generic);
  });

  it('reads any conforming encoding, and skips keys it does not know', () => {
    // msgpackr writes integers above 32 bits that fit a double as float64.
    const raw = { v: 1, extra: [1, 'x', { y: null }, 1.5], nodes: [{ ...defined(nodeToCanonical(base)), zz: new Uint8Array(3) }] };
    const back = decodeTree(pack(raw));
    expect(back[0]!.name).toBe(base.name);
    expect(back[0]!.mtimeNs).toBe(base.mtimeNs);
    expect(back[0]!.inode).toBe(base.inode);
    expect(back[0]!.size).toBe(base.size);
  });

  it('refuses truncated bytes, a missing required field and a wrong type as repo.corrupt', () => {
    const bytes = encodeTree(variants);
    const corrupt = expect.objectContaining({ code: 'repo.corrupt' });
    expect(() => decodeTree(bytes.subarray(0, bytes.length - 3))).toThrow(corrupt);
    const { mt: _mt, ...noMtime } = nodeToCanonical(base) as Record<string, unknown>;
    expect(() => decodeTree(encodeCanonical({ v: 1, nodes: [noMtime as never] }))).toThrow(corrupt);
    expect(() => decodeTree(encodeCanonical({ v: 1, nodes: [{ ...(nodeToCanonical(base) as object), s: 'big' } as never] }))).toThrow(corrupt);
    expect(() => decodeTree(encodeCanonical({ v: 2, nodes: [] }))).toThrow(corrupt);
    expect(() => decodeTree(new Uint8Array([...bytes, 0x01]))).toThrow(corrupt);
  });
});

describe('compareNames', () => {
  // Characters on both sides of every boundary where UTF-16 and UTF-8 orders part: ASCII, Latin,
  // CJK, the private use area above the surrogates, astral characters (surrogate pairs), and lone
  // surrogates, which encode as U+FFFD.
  const pool = ['a', 'b', 'Z', '0', '.', 'é', 'ÿ', 'Ā', '中', '\uD7FF', '\uE000', '\uFB01', '\uFFFD', '😀', '𝄞', '𐀀', '\uD800', '\uDC00'];
  const utf8 = (x: string) => Buffer.from(x, 'utf8');

  it('orders names as their UTF-8 bytes', () => {
    const rand = seededRandom(20261202);
    const name = () => Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pool[Math.floor(rand() * pool.length)]).join('');
    for (let i = 0; i < 20_000; i++) {
      const a = name();
      const b = rand() < 0.2 ? a + name() : name(); // prefixes too
      expect(Math.sign(compareNames(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(Math.sign(Buffer.compare(utf8(a), utf8(b))));
    }
  });

  it('puts a character above the surrogates before an astral one, unlike UTF-16 order', () => {
    expect(compareNames('\uFB01', '😀')).toBeLessThan(0);
    expect('\uFB01' < '😀').toBe(false);
    expect(compareNames('ab', 'ab')).toBe(0);
    expect(compareNames('ab', 'abc')).toBeLessThan(0);
  });
});
