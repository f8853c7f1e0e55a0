/**
 * A snapshot crafted to escape the restore target (a `..` entry, an entry
 * with an absolute path) is refused, and nothing lands outside the target.
 */
import { describe, expect, it } from 'vitest';
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeCliEnv } from './cli-harness.ts';
import { FsStorage } from '../services/storage/fs.ts';
import { Repository } from '../services/repo/repository.ts';
import { RepoWriter } from '../services/repo/repo-writer.ts';
import { InlineSealer } from '../services/repo/sealer.ts';
import { BlobType } from '../services/repo/blob.ts';
import { NodeType, encodeTree, type TreeNode } from '../services/repo/tree.ts';
import { blobId } from '../services/crypto/tenant-keys.ts';

function fileNode(name: string, id: Uint8Array, size: number): TreeNode {
  return { name, type: NodeType.File, mode: 0o644, uid: 0, gid: 0, size, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, inode: 1n, device: 1n, nlink: 1, content: [id], hash: 0n };
}

async function craft(repoDir: string, password: string, evilName: string): Promise<string> {
  const repo = await Repository.open(await FsStorage.create(repoDir), password);
  await repo.loadIndex();
  const writer = new RepoWriter(repo, new InlineSealer());
  const data = Buffer.from('pwned\n');
  const id = blobId(repo.keys.idKey, data);
  await writer.addBlob(BlobType.Data, id, new Uint8Array(data));
  const inner = encodeTree([fileNode(evilName, id, data.length)]);
  const innerId = blobId(repo.keys.idKey, inner);
  await writer.addBlob(BlobType.Tree, innerId, inner);
  const root = encodeTree([{ ...fileNode('dir', id, 0), type: NodeType.Dir, size: 0, content: undefined, subtree: innerId, mode: 0o755 }]);
  const rootId = blobId(repo.keys.idKey, root);
  await writer.addBlob(BlobType.Tree, rootId, root);
  await writer.flush();
  const snapId = await repo.saveSnapshot({
    version: 1, timeNs: BigInt(Date.now()) * 1_000_000n, host: 'evil', source: 'evil', paths: ['/dir'], tree: rootId, tags: [], status: 'ok',
    summary: { files: 1, dirs: 1, others: 0, bytes: 6, filesRead: 1, newBytes: 6, newBlobs: 1, storedBytes: 0, durationMs: 0 }, errors: [], errorCount: 0,
  });
  await repo.close();
  return snapId;
}

describe('restore refuses paths that escape the target', () => {
  for (const evil of ['..', '../../escaped.txt', '/tmp/ferry-escaped-absolute.txt']) {
    it(`refuses an entry named ${JSON.stringify(evil)}`, async () => {
      const t = await makeCliEnv();
      try {
        expect((await t.run(['init', '--kdf-memory', '8'])).code).toBe(0);
        const snap = await craft(t.repo, t.env.FERRY_PASSWORD!, evil);
        const target = join(t.dir, 'out', 'inner');
        await mkdir(target, { recursive: true });
        const r = await t.run(['restore', snap, '--target', target]);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/escape the restore target/);
        await expect(access(join(t.dir, 'out', 'escaped.txt'))).rejects.toThrow();
        await expect(access(join(t.dir, 'escaped.txt'))).rejects.toThrow();
        await expect(access('/tmp/ferry-escaped-absolute.txt')).rejects.toThrow();
      } finally {
        await t.cleanup();
      }
    });
  }
});
