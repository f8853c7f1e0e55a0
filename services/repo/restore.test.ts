/**
 * Where a restore writes: every entry lands under the target, however the
 * target was spelled (trailing slash, relative, doubled slashes), since the
 * restorer builds each path from the normalized target and checked names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import pino from 'pino';
import { MemoryStorage } from '../storage/memory.ts';
import { Repository } from './repository.ts';
import { RepoWriter } from './repo-writer.ts';
import { InlineSealer } from './sealer.ts';
import { BlobType } from './blob.ts';
import { blobId } from '../crypto/tenant-keys.ts';
import { encodeTree, NodeType, type TreeNode } from './tree.ts';
import { Restorer } from './restore.ts';
import { inlinePlacer } from './place-blobs.ts';

let dir: string;
let repo: Repository;
let root: Uint8Array;

const meta = (name: string, type: TreeNode['type'], size = 0): TreeNode => ({
  name, type, mode: type === NodeType.Dir ? 0o755 : 0o644, uid: 0, gid: 0, size,
  atimeNs: 1_700_000_000_000_000_000n, mtimeNs: 1_700_000_000_000_000_000n, ctimeNs: 1_700_000_000_000_000_000n,
  inode: 1n, device: 1n, nlink: 1,
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-restore-'));
  repo = await Repository.init(new MemoryStorage(), 'pw', { kdfMemoryMiB: 1 });
  const writer = new RepoWriter(repo, new InlineSealer());
  const file = async (name: string, text: string): Promise<TreeNode> => {
    const data = new TextEncoder().encode(text);
    const id = blobId(repo.keys.idKey, data);
    await writer.addBlob(BlobType.Data, id, data);
    return { ...meta(name, NodeType.File, data.length), content: [id] };
  };
  const tree = async (nodes: TreeNode[]): Promise<Uint8Array> => {
    const bytes = encodeTree(nodes);
    const id = blobId(repo.keys.idKey, bytes);
    await writer.addBlob(BlobType.Tree, id, bytes);
    return id;
  };
  const sub = await tree([await file('deep.txt', 'deep'), await file('ü-name', 'unicode')]);
  root = await tree([await file('a.txt', 'top'), { ...meta('sub', NodeType.Dir), subtree: sub }]);
  await writer.flush();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every file under `top`, as relative path → content. */
function filesUnder(top: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(top, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out[relative(top, join(e.parentPath, e.name))] = readFileSync(join(e.parentPath, e.name), 'utf8');
  }
  return out;
}

describe('Restorer paths', () => {
  const expected = { 'a.txt': 'top', 'sub/deep.txt': 'deep', 'sub/ü-name': 'unicode' };

  it.each([
    ['plain', (d: string) => join(d, 'plain')],
    ['trailing slash', (d: string) => `${join(d, 'slash')}/`],
    ['doubled slashes and a dot', (d: string) => `${d}//dots/./x`],
    ['relative', (d: string) => relative(process.cwd(), join(d, 'rel'))],
  ])('restores everything under a target spelled %s', async (_label, spell) => {
    const target = spell(dir);
    const r = await new Restorer(repo, { contentOnly: false, log: pino({ level: 'silent' }), placer: inlinePlacer }).restoreTree(root, target);
    expect(r.errors).toBe(0);
    expect(filesUnder(target)).toEqual(expected);
  });
});
