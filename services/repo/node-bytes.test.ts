/** Nodes kept as bytes must always be writeNode's bytes of what readNode decodes, whatever encoding they came in. */
import { describe, expect, it } from 'vitest';
import { pack } from 'msgpackr';
import { CanonicalWriter, encodeCanonical } from '../codec/canonical-msgpack.ts';
import { MsgpackReader, MsgpackShapeError } from '../codec/msgpack-reader.ts';
import { seededRandom } from '../storage/prng.ts';
import { NodeType, nodeToCanonical, readNode, writeNode, type TreeNode } from './tree.ts';
import { nodeBytesOf, readNodeBytes, withContent, withSubtree } from './node-bytes.ts';

const base: TreeNode = {
  name: 'naïve café.txt', type: NodeType.File, mode: 0o4755, uid: 70000, gid: 0, size: 5_000_000_000,
  atimeNs: 1n, mtimeNs: 1700000000123456789n, ctimeNs: -5n, inode: 2n ** 40n, device: 2049n, nlink: 3, content: [],
};

const variants: TreeNode[] = [
  base,
  { ...base, name: '', type: NodeType.Dir, content: undefined, size: 0, uid: -1, gid: -200, mode: 0 },
  { ...base, birthtimeNs: 1600000000000000000n, content: Array.from({ length: 20 }, (_, i) => new Uint8Array(32).fill(i)), hash: -(2n ** 63n) },
  { ...base, type: NodeType.Symlink, linkTarget: '../ü'.repeat(20), size: 0, content: undefined },
  { ...base, type: NodeType.CharDevice, rdev: 1025n, name: 'x'.repeat(300), content: undefined, atimeNs: -(2n ** 31n) - 1n, ctimeNs: -(2n ** 31n) },
  { ...base, type: NodeType.Dir, subtree: new Uint8Array(32).fill(9), content: undefined, nlink: 65535, uid: 65536, gid: 255 },
  { ...base, name: 'a'.repeat(31), size: 2 ** 53 - 1, inode: 2n ** 64n - 1n, device: -(2n ** 63n) },
];

const canonical = (n: TreeNode): Uint8Array => {
  const w = new CanonicalWriter(256);
  writeNode(w, n);
  return w.finish();
};
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** readNodeBytes over `input` followed by a marker byte, checking it stops right before the marker. */
const read = (input: Uint8Array) => {
  const buf = Buffer.concat([input, Buffer.from([0xc3])]);
  const r = new MsgpackReader(buf);
  const n = readNodeBytes(r, 'test node');
  expect(r.pos).toBe(input.length);
  return Object.assign(n, { passedThrough: n.bytes.buffer === buf.buffer });
};

describe('nodes as bytes', () => {
  for (const [i, n] of variants.entries()) {
    it(`passes canonical variant ${i} through unchanged, with its facts`, () => {
      const bytes = canonical(n);
      const got = read(bytes);
      expect(hex(got.bytes)).toBe(hex(bytes));
      expect(got.passedThrough).toBe(true);
      expect(got).toMatchObject({ name: n.name, type: n.type, size: n.size, hasContent: n.content !== undefined, hasSubtree: n.subtree !== undefined });
      expect(hex(nodeBytesOf(n).bytes)).toBe(hex(bytes));
    });
  }

  it('re-encodes every non-canonical form to what readNode decodes', () => {
    const n: TreeNode = { ...base, content: [new Uint8Array(32).fill(1)] };
    const ref = Object.fromEntries(Object.entries(nodeToCanonical(n) as Record<string, unknown>).filter(([, v]) => v !== undefined));
    /** n's encoding with some values (or the map header) written in the given raw bytes. */
    const withRaw = (raw: Record<string, number[]>, header?: number[]): Uint8Array => {
      const w = new CanonicalWriter(256);
      const keys = Object.keys(ref);
      if (header) w.raw(new Uint8Array(header));
      else w.mapHeader(keys.length);
      for (const k of keys) {
        w.str(k);
        if (raw[k]) w.raw(new Uint8Array(raw[k]));
        else w.value(ref[k] as never);
      }
      return w.finish();
    };
    const name = [...Buffer.from(n.name)];
    const forms: Uint8Array[] = [
      pack(ref), // msgpackr's own forms
      encodeCanonical({ t: ref.t as string, ...ref }), // keys out of order
      encodeCanonical({ ...ref, lt: null }), // a nil member
      encodeCanonical({ ...ref, zz: 1 }), // an unknown key
      withRaw({ u: [0xd3, 0, 0, 0, 0, 0x00, 0x01, 0x11, 0x70] }), // 70000 as int64
      withRaw({ g: [0xcc, 0x00] }), // 0 as uint8
      withRaw({ nl: [0xd0, 0x03] }), // 3 as int8
      withRaw({ at: [0xcf, 0, 0, 0, 0, 0, 0, 0, 1] }), // 1 as uint64
      withRaw({ ct: [0xd1, 0xff, 0xfb] }), // -5 as int16
      withRaw({ n: [0xd9, name.length, ...name] }), // a short name as str8
      withRaw({ c: [0x91, 0xc5, 0x00, 0x20, ...new Uint8Array(32).fill(1)] }), // an ID as bin16
      withRaw({ c: [0xdc, 0x00, 0x01, 0xc4, 0x20, ...new Uint8Array(32).fill(1)] }), // one ID in an array16
      withRaw({}, [0xde, 0x00, Object.keys(ref).length]), // the map header as map16
    ];
    const want = hex(canonical(n));
    for (const [i, input] of forms.entries()) {
      expect(hex(input), `form ${i} is not canonical`).not.toBe(want);
      expect(hex(canonical(readNode(new MsgpackReader(input), 'x'))), `form ${i} decodes to the node`).toBe(want);
      const got = read(input);
      expect(hex(got.bytes), `form ${i}`).toBe(want);
      expect(got.passedThrough, `form ${i}`).toBe(false);
    }
  });

  it('replaces invalid UTF-8 in names as readNode does', () => {
    const bytes = Buffer.from(canonical({ ...base, name: 'ab' }));
    const at = bytes.indexOf(Buffer.from('ab'));
    bytes[at] = 0xff;
    const got = read(bytes);
    expect(got.name).toBe('\ufffdb');
    expect(hex(got.bytes)).toBe(hex(canonical({ ...base, name: '\ufffdb' })));
  });

  it('throws on a malformed node as readNode does', () => {
    for (const bad of [encodeCanonical({ n: 'x' }), encodeCanonical({ ...(nodeToCanonical(base) as Record<string, never>), t: 'q' })]) {
      expect(() => readNodeBytes(new MsgpackReader(bad), 'test node')).toThrow(expect.objectContaining({ code: 'repo.corrupt' }));
    }
    // Truncated: the reader's shape error, which decodeEvents and decodeTree turn into their own.
    expect(() => readNodeBytes(new MsgpackReader(canonical(base).subarray(0, 20)), 'test node')).toThrow(MsgpackShapeError);
  });

  it('sets a directory\'s subtree as writeNode would write it', () => {
    const id = new Uint8Array(32).fill(3);
    const dirs: TreeNode[] = [
      { ...base, type: NodeType.Dir, content: undefined },
      { ...base, type: NodeType.Dir, content: undefined, birthtimeNs: 5n, linkTarget: 'x', rdev: 7n }, // 15 keys: 16 with the subtree
      { ...base, type: NodeType.Dir, content: undefined, subtree: new Uint8Array(32) }, // replaced
    ];
    for (const d of dirs) expect(hex(withSubtree(read(canonical(d)), id, 'test dir'))).toBe(hex(canonical({ ...d, subtree: id })));
  });

  it('fills in a file\'s content as writeNode would write it', () => {
    const ids = Array.from({ length: 17 }, (_, i) => new Uint8Array(32).fill(i));
    const scanned = { ...base, content: undefined };
    const cases: [TreeNode, number, Uint8Array[], bigint][] = [
      [scanned, base.size, ids, -3n], // appended: the scan's node has neither content nor hash
      [scanned, base.size, [], 2n ** 62n],
      [{ ...scanned, linkTarget: 'l', rdev: 1n, birthtimeNs: 9n }, base.size, ids.slice(0, 1), 0n], // 15 keys: 17 with content and hash
      [scanned, 12, ids.slice(0, 2), 5n], // the file's size changed since the scan
      [{ ...base, content: ids.slice(3, 4), hash: 1n }, base.size, ids.slice(0, 2), 5n], // content already there: replaced
    ];
    for (const [n, size, content, hash] of cases) {
      const got = withContent(read(canonical(n)), size, content, hash, 'test file');
      expect(hex(got.bytes)).toBe(hex(canonical({ ...n, size, content, hash })));
      expect(got).toMatchObject({ name: n.name, size, hasContent: true, hasHash: true });
    }
  });

  it('agrees with readNode and writeNode on random nodes', () => {
    const rnd = seededRandom(20261204);
    const int = (bits: number) => Math.floor(rnd() * 2 ** bits) * (rnd() < 0.2 ? -1 : 1);
    const big = () => BigInt(int(Math.floor(rnd() * 52))) * (rnd() < 0.3 ? 4096n : 1n);
    for (let i = 0; i < 500; i++) {
      const n: TreeNode = {
        name: Array.from({ length: Math.floor(rnd() * 40) }, () => String.fromCharCode(rnd() < 0.9 ? 97 + Math.floor(rnd() * 26) : 0xe0 + Math.floor(rnd() * 200))).join(''),
        type: Object.values(NodeType)[Math.floor(rnd() * 7)]!, mode: int(12), uid: int(Math.floor(rnd() * 33)), gid: int(17), size: Math.abs(int(Math.floor(rnd() * 53))),
        atimeNs: big(), mtimeNs: big(), ctimeNs: big(), inode: big(), device: big(), nlink: Math.abs(int(20)),
        ...(rnd() < 0.3 ? { birthtimeNs: big() } : {}),
        ...(rnd() < 0.5 ? { content: Array.from({ length: Math.floor(rnd() * 18) }, () => new Uint8Array(32).fill(int(8) & 255)) } : {}),
        ...(rnd() < 0.3 ? { hash: big() } : {}),
      };
      const bytes = canonical(n);
      const got = read(bytes);
      expect(hex(got.bytes)).toBe(hex(bytes));
      expect(got.passedThrough).toBe(true);
    }
  });
});
