/**
 * A repository opened with a key: config, keys, index and snapshot access,
 * and blob reads. Writing blobs goes through RepoWriter (repo-writer.ts);
 * this type only reads, plus the small whole-object saves (index, snapshot).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Storage } from '../storage/storage.ts';
import { isNotFound } from '../storage/storage.ts';
import { keyFileInfo, sealKeyFile } from '../crypto/key-file.ts';
import { unlockRepository, type Unlocked } from './unlock.ts';
import { KeyKind, newTenantKeys, objectKey, writerKeys, type TenantKeys } from '../crypto/tenant-keys.ts';
import { generateX25519 } from '../crypto/x25519.ts';
import { RepoError, RepoErrorCode } from './errors.ts';
import { decodeConfig, encodeConfig, DEFAULT_PACK_SIZE, MAX_PACK_SIZE, MIN_PACK_SIZE, type RepoConfig } from './config.ts';
import { ObjectType, openObject, sealObject } from './sealed-object.ts';
import { Prefix, idOfName, indexName, keyName, pruneMarkName, snapshotName } from './layout.ts';
import { decodePruneMark, type PruneMark } from './prune-marks.ts';
import { SnapshotList, type SnapshotRecord } from './snapshot-list.ts';
import { fromHex, sha256, toHex, idKey } from './ids.ts';
import { MasterIndex, type BlobLocation } from './master-index.ts';
import type { IndexCache } from './index-cache.ts';
import { decodeIndex, encodeIndex, type PackEntry } from './index-file.ts';
import { decodeSnapshot, encodeSnapshot, type Snapshot } from './snapshot.ts';
import { decodeTree, type TreeNode } from './tree.ts';
import { openBlob, BlobType } from './blob.ts';
import { PackWindows } from './pack-windows.ts';
import { packKeyFor } from './pack-keys.ts';
import { DEFAULT_ZSTD_LEVEL } from './compression.ts';
import { DEFAULT_CHUNKER_PARAMS } from './chunker.ts';

export type { SnapshotRecord } from './snapshot-list.ts';

export interface InitOptions {
  readonly host?: string;
  readonly kdfMemoryMiB?: number;
  readonly packSize?: number;
  readonly zstdLevel?: number;
  readonly chunker?: { minSize: number; avgSize: number; maxSize: number };
}

/** Index files loaded ahead of the one being decoded. */
const INDEX_READ_AHEAD = 8;

export class Repository {
  readonly storage: Storage;
  readonly config: RepoConfig;
  readonly keys: TenantKeys;
  /** Replaced whole when a prune has rewritten the index files (see loadIndex). */
  index = new MasterIndex();
  /** Counts such replacements: a writer that remembers blobs across them must forget what it knew. */
  indexGeneration = 0;
  private readonly objKey: Uint8Array;
  private readonly packKeys = new Map<string, Uint8Array>();
  private indexLoaded = false;
  /** The index pass in progress: passes run one at a time, so concurrent callers never load a file twice. */
  private indexPass: Promise<unknown> = Promise.resolve();
  private indexCache: IndexCache | undefined;
  /** The in-memory index holds more than the cache last saved. */
  private cacheBehind = false;
  /** Index files this process read and checked itself (not taken from the local cache). */
  private readonly verifiedIndexIds = new Set<string>();
  private readonly snapshots: SnapshotList;

  private constructor(storage: Storage, config: RepoConfig, keys: TenantKeys) {
    this.storage = storage;
    this.config = config;
    this.keys = keys;
    this.objKey = objectKey(keys);
    this.treeWindows = new PackWindows(storage);
    this.dataWindows = new PackWindows(storage, { windowBytes: 4 * 1024 * 1024, maxWindows: 4 });
    this.snapshots = new SnapshotList(storage, (hex) => this.loadSnapshotById(hex));
  }

  static async init(storage: Storage, passphrase: string, opts: InitOptions = {}): Promise<Repository> {
    const existing = await storage.stat(Prefix.config).then(() => true, (e) => (isNotFound(e) ? false : Promise.reject(e)));
    if (existing) throw new RepoError(RepoErrorCode.AlreadyExists, `a repository already exists at ${storage.location}`);
    const packSize = opts.packSize ?? DEFAULT_PACK_SIZE;
    if (packSize < MIN_PACK_SIZE || packSize > MAX_PACK_SIZE) {
      throw new RepoError(RepoErrorCode.Unsupported, `pack size must be between ${MIN_PACK_SIZE} and ${MAX_PACK_SIZE} bytes`);
    }
    const keys = newTenantKeys(toHex(randomBytes(32)).slice(0, 32), generateX25519, (n) => randomBytes(n));
    const config: RepoConfig = {
      version: 1,
      id: keys.repoId,
      chunker: { ...(opts.chunker ?? DEFAULT_CHUNKER_PARAMS), seed: randomBytes(32) },
      packSize,
      zstdLevel: opts.zstdLevel ?? DEFAULT_ZSTD_LEVEL,
      publicKey: keys.publicKey,
    };
    const repo = new Repository(storage, config, keys);
    // Key first, config last: a half-initialised location has no config and is not taken for a repository.
    await repo.addKey(passphrase, { host: opts.host ?? hostname(), kdfMemoryMiB: opts.kdfMemoryMiB, kind: KeyKind.Owner });
    await storage.save(Prefix.config, sealObject(repo.objKey, ObjectType.Config, encodeConfig(config), config.zstdLevel));
    return repo;
  }

  /** Opens the repository with a passphrase; `onDeriving` as for openKeyFile (called once per key tried). */
  static async open(storage: Storage, passphrase: string, opts: { onDeriving?: () => void } = {}): Promise<Repository> {
    return Repository.fromUnlocked(storage, await unlockRepository(storage, passphrase, opts));
  }

  /** The repository whose config and keys unlockRepository returned. */
  static fromUnlocked(storage: Storage, { configBytes, keys }: Unlocked): Repository {
    const config = decodeConfig(openObject(objectKey(keys), ObjectType.Config, configBytes, 'config'));
    if (config.id !== keys.repoId) throw new RepoError(RepoErrorCode.Corrupt, 'the key belongs to another repository than this config');
    return new Repository(storage, config, keys);
  }

  /** Adds a key file. A writer key can back up but cannot read content. */
  async addKey(passphrase: string, opts: { host: string; kdfMemoryMiB?: number | undefined; kind: KeyKind }): Promise<string> {
    const keys = opts.kind === KeyKind.Writer ? writerKeys(this.keys) : this.keys;
    if (opts.kind === KeyKind.Owner && this.keys.privateKey === null) {
      throw new RepoError(RepoErrorCode.Unsupported, 'a write-only key cannot create owner keys');
    }
    const bytes = await sealKeyFile(keys, passphrase, { host: opts.host, ...(opts.kdfMemoryMiB ? { kdfMemoryMiB: opts.kdfMemoryMiB } : {}) });
    const id = sha256(bytes);
    await this.storage.save(keyName(id), bytes);
    return toHex(id);
  }

  async listKeys(): Promise<{ id: string; kind: string; host: string; created: string }[]> {
    const out = [];
    for await (const o of this.storage.list(Prefix.keys)) {
      const info = keyFileInfo(await this.storage.load(o.name));
      out.push({ id: idOfName(o.name), ...info });
    }
    return out;
  }

  // ---- sealed whole objects ------------------------------------------------

  async saveObject(type: typeof ObjectType.Index | typeof ObjectType.Snapshot | typeof ObjectType.PruneMark, payload: Uint8Array): Promise<string> {
    const bytes = sealObject(this.objKey, type, payload, this.config.zstdLevel);
    const id = sha256(bytes);
    await this.storage.save(type === ObjectType.Index ? indexName(id) : type === ObjectType.Snapshot ? snapshotName(id) : pruneMarkName(id), bytes);
    return toHex(id);
  }

  /** Every prune mark in the repository (prune-marks.ts). */
  async listPruneMarks(): Promise<PruneMark[]> {
    const marks: PruneMark[] = [];
    for await (const o of this.storage.list(Prefix.prune)) {
      const bytes = await this.storage.load(o.name).catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
      if (bytes === undefined) continue; // swept between the listing and the load
      if (toHex(sha256(bytes)) !== idOfName(o.name)) throw new RepoError(RepoErrorCode.Corrupt, `${o.name} does not match its ID (corrupt object)`);
      marks.push(decodePruneMark(openObject(this.objKey, ObjectType.PruneMark, bytes, o.name), o.name));
    }
    return marks;
  }

  /** Reads one index file (checked against its ID), without adding it to the in-memory index. */
  async readIndexFile(name: string): Promise<PackEntry[]> {
    return this.readIndexObject(name, await this.storage.load(name));
  }

  async saveIndex(packs: readonly PackEntry[]): Promise<string> {
    const id = await this.saveObject(ObjectType.Index, encodeIndex(packs));
    this.index.indexIds.add(id);
    for (const p of packs) this.index.addPack(p);
    this.cacheBehind = true;
    return id;
  }

  /**
   * Starts the index from a local cache (index-cache.ts) instead of every
   * index file, and saves the cache again on close() when the index grew.
   * Call before the first loadIndex().
   */
  useIndexCache(cache: IndexCache): void {
    this.indexCache = cache;
  }

  async saveSnapshot(s: Snapshot): Promise<string> {
    return this.saveObject(ObjectType.Snapshot, encodeSnapshot(s));
  }

  /**
   * Loads index files not loaded yet; cheap to call again. Each file must
   * match its ID. With `onError`, a bad file is reported and skipped (check
   * uses this to list every bad file); without it, the first one throws.
   * Calls made while a pass runs wait for it, then make their own (cheap) pass.
   */
  loadIndex(opts: { onError?: (name: string, err: unknown) => void } = {}): Promise<MasterIndex> {
    const pass = this.indexPass.catch(() => {}).then(() => this.loadIndexPass(opts));
    this.indexPass = pass;
    return pass;
  }

  private async loadIndexPass(opts: { onError?: (name: string, err: unknown) => void }): Promise<MasterIndex> {
    // Files this process knew before listing: a file it saves while the listing runs is not in it, and is not gone.
    const knownBefore = [...this.index.indexIds];
    const listed: string[] = [];
    for await (const o of this.storage.list(Prefix.index)) listed.push(o.name);
    // Marks after the index listing: a sweep removes a mark only once the index files naming its packs
    // are gone, so every pack of a file listed here that a sweep may delete still has its mark.
    const marks = await this.listPruneMarks();
    const present = new Set(listed.map(idOfName));
    if (knownBefore.some((id) => !present.has(id))) {
      // A prune swept: index files this index came from are gone, and with them packs it still names.
      this.index = new MasterIndex();
      this.indexGeneration++;
    }
    if (this.indexCache !== undefined && this.index.indexIds.size === 0) await this.startFromCache(this.indexCache, listed);
    const names = listed.filter((name) => !this.index.indexIds.has(idOfName(name)));
    if (names.length > 0) this.cacheBehind = true;
    // Loads run ahead of decoding (INDEX_READ_AHEAD at a time), so the pass waits on storage once, not once per file.
    const loads: Promise<Uint8Array>[] = [];
    const loadAt = (i: number): void => {
      if (i >= names.length) return;
      const p = this.storage.load(names[i]!);
      p.catch(() => {}); // observed when its turn comes
      loads[i] = p;
    };
    for (let i = 0; i < INDEX_READ_AHEAD; i++) loadAt(i);
    for (const [i, name] of names.entries()) {
      const hex = idOfName(name);
      try {
        for (const p of this.readIndexObject(name, await loads[i]!)) this.index.addPack(p);
        this.index.indexIds.add(hex);
        this.verifiedIndexIds.add(hex);
      } catch (err) {
        if (!opts.onError) throw err;
        opts.onError(name, err);
      } finally {
        delete loads[i];
        loadAt(i + INDEX_READ_AHEAD);
      }
    }
    this.index.setMarked(new Set(marks.flatMap((m) => m.packs)));
    this.indexLoaded = true;
    return this.index;
  }

  /** An index file's entries, after checking its bytes match its name. */
  private readIndexObject(name: string, bytes: Uint8Array): PackEntry[] {
    if (toHex(sha256(bytes)) !== idOfName(name)) throw new RepoError(RepoErrorCode.Corrupt, `${name} does not match its ID (corrupt object)`);
    return decodeIndex(openObject(this.objKey, ObjectType.Index, bytes, name), name);
  }

  /**
   * Reads and decodes every index file in storage that this process has not
   * read and checked itself, reporting each that fails, whatever the
   * in-memory index holds (check uses this: the index may have come from the
   * local cache, which check must not take on trust).
   */
  async verifyIndexFiles(onError: (name: string, err: unknown) => void): Promise<void> {
    for await (const o of this.storage.list(Prefix.index)) {
      if (this.verifiedIndexIds.has(idOfName(o.name))) continue;
      try {
        this.readIndexObject(o.name, await this.storage.load(o.name));
        this.verifiedIndexIds.add(idOfName(o.name));
      } catch (err) {
        onError(o.name, err);
      }
    }
  }

  /** Fills the empty index from the cache if every index file the cache covers is still listed; otherwise leaves it empty. */
  private async startFromCache(cache: IndexCache, listed: readonly string[]): Promise<void> {
    const columns = await cache.load().catch(() => undefined);
    if (columns === undefined) return;
    const present = new Set(listed.map(idOfName));
    if (!columns.indexIds.every((id) => present.has(id))) return;
    try {
      this.index.fillFrom(columns);
    } catch {
      // A cache that does not fit together is ignored; the index files are the truth.
    }
  }

  /** Every snapshot, oldest first (see SnapshotList). */
  listSnapshots(): Promise<SnapshotRecord[]> {
    return this.snapshots.all();
  }

  /**
   * The snapshot a new backup of `paths` from `source` compares against: the
   * newest of that source with the same paths (in any order), else the
   * newest of that source. Matching paths first keeps a source that backs up
   * several directories in turn from re-reading everything each time.
   */
  async parentFor(source: string, paths: readonly string[]): Promise<SnapshotRecord | undefined> {
    const mine = (await this.listSnapshots()).filter((r) => r.snapshot.source === source);
    const key = (ps: readonly string[]) => JSON.stringify([...ps].sort());
    const want = key(paths);
    return mine.findLast((r) => key(r.snapshot.paths) === want) ?? mine.at(-1);
  }

  async loadSnapshotById(hex: string): Promise<Snapshot> {
    fromHex(hex, 'snapshot id');
    const name = `${Prefix.snapshots}${hex}`;
    const bytes = await this.storage.load(name);
    if (toHex(sha256(bytes)) !== hex) throw new RepoError(RepoErrorCode.Corrupt, `snapshot ${hex} does not match its ID (corrupt object)`);
    return decodeSnapshot(openObject(this.objKey, ObjectType.Snapshot, bytes, name), name);
  }

  /**
   * Removes snapshot `hex` (a full ID) from storage: later listSnapshots()
   * calls do not show it. Only the snapshot object goes; the packs and index
   * files it referenced stay until something prunes them. Removing a snapshot
   * that is already gone succeeds, so two forgets can overlap.
   */
  async removeSnapshot(hex: string): Promise<void> {
    await this.storage.remove(snapshotName(fromHex(hex, 'snapshot id'))).catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
  }

  /** Resolves `latest`, a full ID or a unique prefix of at least 4 hex digits. */
  async resolveSnapshot(ref: string): Promise<SnapshotRecord> {
    const all = await this.listSnapshots();
    if (ref === 'latest') {
      const last = all.at(-1);
      if (!last) throw new RepoError(RepoErrorCode.UnknownSnapshot, 'the repository has no snapshots yet');
      return last;
    }
    if (!/^[0-9a-f]{4,64}$/.test(ref)) throw new RepoError(RepoErrorCode.UnknownSnapshot, `${JSON.stringify(ref)} is not a snapshot ID (use 4-64 hex digits or "latest")`);
    const hits = all.filter((s) => s.id.startsWith(ref));
    if (hits.length === 0) throw new RepoError(RepoErrorCode.UnknownSnapshot, `no snapshot matches ${ref}`);
    if (hits.length > 1) throw new RepoError(RepoErrorCode.AmbiguousSnapshot, `${ref} matches ${hits.length} snapshots; give more digits`);
    return hits[0] as SnapshotRecord;
  }

  // ---- blobs ----------------------------------------------------------------

  locate(id: Uint8Array): BlobLocation {
    const loc = this.index.get(id);
    if (!loc) {
      throw new RepoError(RepoErrorCode.MissingBlob, `blob ${toHex(id)} is not in the index${this.indexLoaded ? '' : ' (index not loaded)'}`, { details: { blob: toHex(id) } });
    }
    return loc;
  }

  packKey(loc: BlobLocation): Uint8Array {
    const k = idKey(loc.pack.id);
    let key = this.packKeys.get(k);
    if (!key) {
      key = packKeyFor(loc.pack.kind, loc.pack.epk, this.keys);
      this.packKeys.set(k, key);
    }
    return key;
  }

  /** Decrypts a blob from its sealed bytes (as read from its pack). */
  openBlobBytes(id: Uint8Array, loc: BlobLocation, sealed: Uint8Array): Uint8Array {
    return openBlob(this.packKey(loc), id, loc.type, sealed, `blob ${toHex(id)} in pack ${toHex(loc.pack.id)}`);
  }

  async readBlob(id: Uint8Array, expected?: BlobType): Promise<Uint8Array> {
    const loc = this.locate(id);
    if (expected !== undefined && loc.type !== expected) throw new RepoError(RepoErrorCode.Corrupt, `blob ${toHex(id)} has type ${loc.type}, expected ${expected}`);
    const sealed = await (loc.type === BlobType.Tree ? this.treeWindows : this.dataWindows).read(loc);
    return this.openBlobBytes(id, loc, sealed);
  }

  private readonly treeCache = new Map<string, TreeNode[]>();
  private readonly treeWindows: PackWindows;
  /** Restores read files in the order they were packed: small files' blobs come from one read. */
  private readonly dataWindows: PackWindows;

  async loadTree(id: Uint8Array): Promise<TreeNode[]> {
    const k = idKey(id);
    const cached = this.treeCache.get(k);
    if (cached) return cached;
    const nodes = decodeTree(await this.readBlob(id, 1), `tree ${toHex(id)}`);
    if (this.treeCache.size > 256) this.treeCache.clear();
    this.treeCache.set(k, nodes);
    return nodes;
  }

  get canReadContent(): boolean {
    return this.keys.privateKey !== null;
  }

  /** Saves the index cache if the index grew (best effort: a cache that cannot be written is only slower next time), then closes storage. */
  async close(): Promise<void> {
    if (this.indexCache !== undefined && this.cacheBehind) {
      this.cacheBehind = false;
      await this.indexCache.save(this.index.columns()).catch(() => {});
    }
    await this.storage.close();
  }
}

