/**
 * Adopting orphan packs: packs that were stored but never listed in an
 * index, because the writer died between saving a pack and saving the index
 * file that names it. Reading a pack's header and trailer (a writer can: the
 * trailer key comes from metaKey) is enough to index it, so the data is not
 * uploaded again. Storage saves are atomic, so a visible pack is complete.
 */
import type { Repository } from './repository.ts';
import { Prefix, idOfName, type PackKind } from './layout.ts';
import { fromHex } from './ids.ts';
import { PACK_HEADER_BYTES, readPackTrailer } from './pack.ts';
import { trailerKeyFor } from './pack-keys.ts';
import type { PackEntry } from './index-file.ts';
import { RepoError, RepoErrorCode } from './errors.ts';

export interface AdoptResult {
  readonly adopted: number;
  /** Orphans whose trailer could not be read: left for prune and reported by check. */
  readonly unreadable: string[];
}

async function readTrailerOnly(repo: Repository, name: string, size: number): Promise<Omit<PackEntry, 'id'>> {
  if (size < PACK_HEADER_BYTES + 8) throw new RepoError(RepoErrorCode.Corrupt, `${name} is too short to be a pack`);
  const header = await repo.storage.load(name, { offset: 0, length: PACK_HEADER_BYTES });
  const tail = await repo.storage.load(name, { offset: size - 8, length: 8 });
  const tlen = new DataView(tail.buffer, tail.byteOffset, 4).getUint32(0, true);
  if (tlen > size - PACK_HEADER_BYTES - 8) throw new RepoError(RepoErrorCode.Corrupt, `${name} has a trailer length out of range`);
  const trailer = await repo.storage.load(name, { offset: size - 8 - tlen, length: tlen });
  const entry = readPackTrailer(Buffer.concat([header, trailer, tail]), (epk) => trailerKeyFor(epk, repo.keys), name);
  const end = size - 8 - tlen;
  if (entry.blobs.some((b) => b.offset < PACK_HEADER_BYTES || b.offset + b.length > end)) {
    throw new RepoError(RepoErrorCode.Corrupt, `${name} lists a blob outside its data area`);
  }
  return entry;
}

/** Indexes every stored pack the loaded index does not know. Call after loadIndex(). */
export async function adoptOrphanPacks(repo: Repository): Promise<AdoptResult> {
  const known = new Set<string>();
  for (const p of repo.index.allPacks()) known.add(p.name);
  const found: PackEntry[] = [];
  const unreadable: string[] = [];
  for (const prefix of [Prefix.data, Prefix.tree]) {
    for await (const o of repo.storage.list(prefix)) {
      if (known.has(o.name)) continue;
      try {
        const entry = await readTrailerOnly(repo, o.name, o.size);
        found.push({ id: fromHex(idOfName(o.name), 'pack id'), ...entry, kind: entry.kind as PackKind });
      } catch {
        unreadable.push(o.name);
      }
    }
  }
  // Skip packs whose blobs are all indexed already elsewhere: nothing to gain from listing them.
  const useful = found.filter((p) => p.blobs.some((b) => !repo.index.has(b.id)));
  if (useful.length > 0) await repo.saveIndex(useful);
  return { adopted: useful.length, unreadable };
}
