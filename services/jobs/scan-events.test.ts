/** Scan events decode exactly what was encoded, skip fields a later version adds, and refuse damage. */
import { describe, expect, it } from 'vitest';
import { pack } from 'msgpackr';
import { decodeEvents, encodeEvents, type ScanEvent } from './scan-events.ts';
import { nodeToCanonical, type TreeNode } from '../repo/tree.ts';

const node = (name: string, type: TreeNode['type'], extra: Partial<TreeNode> = {}): TreeNode => ({
  name, type, mode: 0o644, uid: 1000, gid: 1000, size: type === 'f' ? 12 : 0, atimeNs: 1700000000000000000n, mtimeNs: 1700000000123456789n,
  ctimeNs: 1700000000123456789n, inode: 42n, device: 2049n, nlink: 1, ...extra,
});
const events: ScanEvent[] = [
  { t: 'd', node: node('', 'd') },
  { t: 'f', node: node('a.txt', 'f'), path: '/src/a.txt' },
  { t: 'f', node: node('big.img', 'f'), path: '/src/big.img', ahead: true },
  { t: 'f', node: node('b.txt', 'f', { content: [new Uint8Array(32).fill(3)], hash: -7n }) },
  { t: 'u', node: node('sub', 'd', { subtree: new Uint8Array(32).fill(9) }), counts: { files: 10, dirs: 2, others: 1, bytes: 5000 } },
  { t: 'o', node: node('link', 'l', { linkTarget: 'a.txt' }) },
  { t: 'k', tree: new Uint8Array(32).fill(5), first: 3, count: 200, counts: { files: 150, dirs: 60, others: 2, bytes: 2 ** 40 } },
  { t: 'x', path: '/src/secret', code: 'EACCES', message: 'permission denied' },
  { t: 'e' },
];
const defined = (o: unknown) => Object.fromEntries(Object.entries(o as object).filter(([, v]) => v !== undefined));

describe('scan events', () => {
  it('round-trip every kind', () => {
    expect(decodeEvents(encodeEvents(events), 't')).toEqual(events.map((e) => ('node' in e ? { ...e, node: { ...e.node } } : e)));
  });

  it('skip trailing fields a later version may add', () => {
    const bytes = pack([['e', 'later'], ['x', '/p', 'C', 'm', { more: 1 }], ['d', defined(nodeToCanonical(node('', 'd'))), 5]]);
    expect(decodeEvents(bytes, 't').map((e) => e.t)).toEqual(['e', 'x', 'd']);
  });

  it('refuse truncation, an unknown kind and missing fields as jobs.bad-events, and a bad node as repo.corrupt', () => {
    const bad = expect.objectContaining({ code: 'jobs.bad-events' });
    const bytes = encodeEvents(events);
    expect(() => decodeEvents(bytes.subarray(0, bytes.length - 5), 't')).toThrow(bad);
    expect(() => decodeEvents(pack([['z']]), 't')).toThrow(bad);
    expect(() => decodeEvents(pack([['x', '/p']]), 't')).toThrow(bad);
    expect(() => decodeEvents(pack([['u', defined(nodeToCanonical(node('s', 'd'))), [1, 2, 3, 4]]]), 't')).toThrow(bad); // no subtree
    expect(() => decodeEvents(pack([['f', { n: 'x' }]]), 't')).toThrow(expect.objectContaining({ code: 'repo.corrupt' }));
    const file = defined(nodeToCanonical(node('big.img', 'f')));
    expect(() => decodeEvents(pack([['f', file, null, true]]), 't')).toThrow(bad); // sent ahead, with no path to read
    expect(() => decodeEvents(pack([['f', file, '/src/big.img', 1]]), 't')).toThrow(bad);
    expect(decodeEvents(pack([['f', file, '/src/big.img', false]]), 't')[0]).not.toHaveProperty('ahead');
    expect(() => decodeEvents(pack({ not: 'a list' }), 't')).toThrow(bad);
    const tree = new Uint8Array(32).fill(5);
    expect(decodeEvents(pack([['k', tree, 0, 1, [1, 0, 0, 9]]]), 't')).toHaveLength(1);
    for (const k of [
      ['k', tree, 0, 0, [0, 0, 0, 0]], // an empty run
      ['k', tree, -1, 1, [1, 0, 0, 9]],
      ['k', tree.subarray(0, 31), 0, 1, [1, 0, 0, 9]],
      ['k', tree, 0, 1, [1, 0, -1, 9]],
      ['k', tree, 0, 1, [1, 0, 0]],
      ['k', tree, 0, 1],
    ]) expect(() => decodeEvents(pack([k]), 't'), JSON.stringify(k)).toThrow(bad);
  });
});
