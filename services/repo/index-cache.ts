/**
 * A local cache of the decoded master index, so that a command does not
 * decrypt, decompress and decode every index file when it starts (about
 * 0.1 s for 30 index files, and more as a repository grows). It is local
 * state, not part of the repository format, and the repository stays the
 * truth:
 * - the cache is used only if every index file it was built from is still
 *   in the repository (index files are immutable; anything that drops a
 *   pack must drop the index files that list it, which invalidates the
 *   cache);
 * - index files it does not cover are loaded on top of it, as usual;
 * - a SHA-256 over its contents catches a torn or damaged file, and any
 *   file that does not read back cleanly is ignored.
 * It holds what index files say (blob IDs, pack IDs, offsets and lengths),
 * never content or keys, in the state directory (0700, files 0600).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { dirname } from 'node:path';
import { fromHex, toHex } from './ids.ts';
import type { IndexColumns } from './master-index.ts';
import { PackKind } from './layout.ts';

/** Where a repository keeps its index cache; both methods fail softly (load gives undefined, save may throw and is best effort). */
export interface IndexCache {
  load(): Promise<IndexColumns | undefined>;
  save(columns: IndexColumns): Promise<void>;
}

const MAGIC = 0x43495846; // "FXIC" read little-endian
const VERSION = 1;
const HEADER = 4 + 4 + 32;
const ID = 32;
/** Bytes per entry: its ID, pack number, type, offset, length and raw length. */
const ENTRY_BYTES = ID + 4 + 1 + 4 + 4 + 4;

/** The columns as bytes: magic, version, SHA-256 of the body, body. */
export function encodeIndexCache(c: IndexColumns): Uint8Array {
  const n = c.count;
  const packBytes = c.packs.reduce((s, p) => s + ID + 1 + 1 + p.epk.length + 4, 0);
  const body = Buffer.alloc(12 + c.indexIds.length * ID + packBytes + n * ENTRY_BYTES);
  body.writeUInt32LE(n, 0);
  body.writeUInt32LE(c.packs.length, 4);
  body.writeUInt32LE(c.indexIds.length, 8);
  let at = 12;
  for (const hex of c.indexIds) at += Buffer.from(fromHex(hex, 'index id')).copy(body, at);
  for (const p of c.packs) {
    at += Buffer.from(p.id).copy(body, at);
    body[at++] = p.kind;
    body[at++] = p.epk.length;
    at += Buffer.from(p.epk).copy(body, at);
    body.writeUInt32LE(p.dataEnd, at);
    at += 4;
  }
  for (const col of [c.ids, c.packOf, c.types, c.offsets, c.lengths, c.rawLengths]) {
    at += Buffer.from(col.buffer, col.byteOffset, col.byteLength).copy(body, at);
  }
  const head = Buffer.alloc(HEADER);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(VERSION, 4);
  createHash('sha256').update(body).digest().copy(head, 8);
  return Buffer.concat([head, body]);
}

/** The columns back, or undefined when the bytes are not an intact cache of this version. */
export function decodeIndexCache(bytes: Uint8Array): IndexColumns | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < HEADER + 12 || b.readUInt32LE(0) !== MAGIC || b.readUInt32LE(4) !== VERSION) return undefined;
  const body = b.subarray(HEADER);
  if (!createHash('sha256').update(body).digest().equals(b.subarray(8, HEADER))) return undefined;
  const n = body.readUInt32LE(0);
  const packCount = body.readUInt32LE(4);
  const idCount = body.readUInt32LE(8);
  let at = 12;
  const need = (len: number): boolean => at + len <= body.length;
  if (!need(idCount * ID)) return undefined;
  const indexIds: string[] = [];
  for (let i = 0; i < idCount; i++, at += ID) indexIds.push(toHex(body.subarray(at, at + ID)));
  const packs: IndexColumns['packs'][number][] = [];
  for (let i = 0; i < packCount; i++) {
    if (!need(ID + 2)) return undefined;
    const id = new Uint8Array(body.subarray(at, at + ID));
    const kind = body[at + ID]!;
    const epkLength = body[at + ID + 1]!;
    at += ID + 2;
    if (!need(epkLength + 4) || (kind !== PackKind.Data && kind !== PackKind.Tree)) return undefined;
    const epk = new Uint8Array(body.subarray(at, at + epkLength));
    at += epkLength;
    packs.push({ id, kind, epk, dataEnd: body.readUInt32LE(at) });
    at += 4;
  }
  if (at + n * ENTRY_BYTES !== body.length) return undefined;
  const take = <T extends Uint8Array | Uint32Array>(make: (k: number) => T, per: number): T => {
    const out = make(n);
    new Uint8Array(out.buffer).set(body.subarray(at, at + n * per));
    at += n * per;
    return out;
  };
  const ids = take((k) => new Uint8Array(k * ID), ID);
  const packOf = take((k) => new Uint32Array(k), 4);
  const types = take((k) => new Uint8Array(k), 1);
  const offsets = take((k) => new Uint32Array(k), 4);
  const lengths = take((k) => new Uint32Array(k), 4);
  const rawLengths = take((k) => new Uint32Array(k), 4);
  return { count: n, ids, packOf, types, offsets, lengths, rawLengths, packs, indexIds };
}

/** The cache as one file, replaced atomically; disabled on big-endian hosts (the columns are stored little-endian as they lie in memory). */
export class FileIndexCache implements IndexCache {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  async load(): Promise<IndexColumns | undefined> {
    if (endianness() !== 'LE') return undefined;
    try {
      return decodeIndexCache(await readFile(this.path));
    } catch {
      return undefined;
    }
  }

  async save(columns: IndexColumns): Promise<void> {
    if (endianness() !== 'LE') return;
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${randomUUID()}.tmp`;
    try {
      await writeFile(tmp, encodeIndexCache(columns), { mode: 0o600 });
      await rename(tmp, this.path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}
