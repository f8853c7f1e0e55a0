/**
 * Repacking for prune: copies the blobs snapshots still reference out of
 * packs that are mostly unreferenced into new packs, so a later sweep can
 * delete the old packs whole (prune.ts). Call it after the mark naming the
 * old packs is saved and the index reloaded: only then does the writer not
 * take the old copies as already stored (MasterIndex.usable).
 *
 * Contract: reads each old pack once, opens each listed blob with its own
 * pack's key (content needs a key that can read it), and stores it through
 * a RepoWriter, which writes packs, then their index files, on flush.
 * Returns what it copied. A failure leaves the old packs in place, marked:
 * the sweep keeps any whose blobs are not stored elsewhere.
 */
import type { Repository } from './repository.ts';
import type { Sealer } from './sealer.ts';
import type { PackEntry } from './index-file.ts';
import type { BlobLocation } from './master-index.ts';
import { packName } from './layout.ts';
import { RepoWriter } from './repo-writer.ts';

export interface RepackResult {
  readonly packs: number;
  readonly blobs: number;
  readonly bytes: number;
}

export async function repack(repo: Repository, sealer: Sealer, packs: readonly PackEntry[]): Promise<RepackResult> {
  const writer = new RepoWriter(repo, sealer);
  let blobs = 0;
  let bytes = 0;
  for (const p of packs) {
    const name = packName(p.kind, p.id);
    const stored = await repo.storage.load(name);
    const ref = { id: p.id, name, kind: p.kind, epk: p.epk, dataEnd: stored.length };
    for (const b of p.blobs) {
      const loc: BlobLocation = { pack: ref, type: b.type, offset: b.offset, length: b.length, rawLength: b.rawLength };
      const plain = repo.openBlobBytes(b.id, loc, stored.subarray(b.offset, b.offset + b.length));
      if (await writer.addBlob(b.type, b.id, plain)) {
        blobs++;
        bytes += plain.length;
      }
    }
  }
  await writer.flush();
  return { packs: packs.length, blobs, bytes };
}
