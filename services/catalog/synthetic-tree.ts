/**
 * Deterministic synthetic directory trees for the catalog's size test and
 * benchmark.
 *
 * Shape: `entries` nodes in total (root included), `dirFraction` of them
 * directories. Directories form a random recursive tree (each directory's
 * parent is uniform among the earlier ones), which gives a depth of about
 * ln(dirs) on average (~11 at 1M entries) with a long tail. Files are spread
 * with a skewed weight, so most directories hold a few dozen files and some
 * hold thousands. Names mix camera files, source files, documents, logs and
 * hashes and average ~15 bytes; sizes are log-normal (median 16 KiB); mtimes
 * have millisecond precision within the last five years.
 *
 * The generator streams listings in pre-order and keeps only O(dirs) state,
 * so 10M entries stay well inside memory.
 */
import { NodeKind, type CatalogEntry, type DirListing } from './types.ts';

export interface SyntheticTreeOptions {
  /** Total nodes, root included. */
  readonly entries: number;
  readonly seed?: number;
  /** Share of directories; default 0.05. */
  readonly dirFraction?: number;
  /** Newest mtime; default 2025-01-01. */
  readonly nowMs?: number;
}

/** Small fast PRNG (sfc32); Math.random cannot be seeded. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed | 0;
    for (let i = 0; i < 16; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Random signed 64-bit value. */
  i64(): bigint {
    return BigInt.asIntN(64, (BigInt(this.u32()) << 32n) | BigInt(this.u32()));
  }
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

const WORDS = ['report', 'notes', 'invoice', 'budget', 'draft', 'summary', 'photo', 'backup', 'meeting', 'plan', 'data', 'final', 'scan', 'letter', 'export'];
const SOURCE = ['index.ts', 'main.go', 'util.js', 'app.py', 'README.md', 'Makefile', 'config.yaml', 'package.json', 'lib.rs', 'test.c', 'styles.css', 'server.ts'];
const DOC_EXT = ['pdf', 'docx', 'xlsx', 'txt', 'md', 'csv'];
const DIR_NAMES = ['src', 'lib', 'docs', 'photos', 'Downloads', 'projects', 'archive', 'build', 'assets', 'tmp', 'Music', 'Videos', 'backup', 'scripts', 'test', 'vendor', 'node_modules', 'Pictures'];

function fileName(rng: Rng): string {
  const r = rng.next();
  if (r < 0.22) {
    const y = 2015 + rng.int(10);
    return `IMG_${y}${pad(1 + rng.int(12), 2)}${pad(1 + rng.int(28), 2)}_${pad(rng.int(240000), 6)}.jpg`;
  }
  if (r < 0.3) return `DSC${pad(rng.int(100000), 5)}.JPG`;
  if (r < 0.5) return rng.pick(SOURCE);
  if (r < 0.55) return `${rng.pick(WORDS)}.${rng.pick(['ts', 'js', 'go', 'py'])}`;
  if (r < 0.75) return `${rng.pick(WORDS)}-${2010 + rng.int(15)}-${rng.pick(WORDS)}.${rng.pick(DOC_EXT)}`;
  if (r < 0.9) return `${rng.u32().toString(16).slice(0, 6)}.log`;
  if (r < 0.97) return `${rng.pick(WORDS)}_${pad(rng.int(1000), 3)}.${rng.pick(DOC_EXT)}`;
  return `Screenshot ${2018 + rng.int(7)}-${pad(1 + rng.int(12), 2)}-${pad(1 + rng.int(28), 2)} at ${pad(rng.int(24), 2)}.${pad(rng.int(60), 2)}.png`;
}

function dirName(rng: Rng): string {
  const r = rng.next();
  if (r < 0.5) return rng.pick(DIR_NAMES);
  if (r < 0.75) return `${2010 + rng.int(15)}-${pad(1 + rng.int(12), 2)}`;
  return `${rng.pick(WORDS)}-${rng.int(100)}`;
}

/** Makes `name` unique within `taken` by adding `-N` before the extension. */
function unique(name: string, taken: Set<string>): string {
  if (!taken.has(name)) {
    taken.add(name);
    return name;
  }
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot) : '';
  for (let n = 2; ; n++) {
    const candidate = `${stem}-${n}${ext}`;
    if (!taken.has(candidate)) {
      taken.add(candidate);
      return candidate;
    }
  }
}

/** Streams the tree's listings (all complete) in pre-order. */
export function* syntheticTree(opts: SyntheticTreeOptions): Generator<DirListing> {
  const rng = new Rng(opts.seed ?? 1);
  const total = Math.max(1, Math.floor(opts.entries));
  const dirs = Math.max(1, Math.round(total * (opts.dirFraction ?? 0.05)));
  const files = total - dirs;
  const nowMs = opts.nowMs ?? Date.UTC(2025, 0, 1);
  const spanMs = 5 * 365 * 86_400_000;

  // Directory skeleton as a compact child index (CSR) over a parent array.
  const parent = new Int32Array(dirs);
  const childCount = new Int32Array(dirs + 1);
  for (let i = 1; i < dirs; i++) {
    parent[i] = rng.int(i);
    childCount[(parent[i] as number) + 1]! += 1;
  }
  for (let i = 1; i <= dirs; i++) childCount[i]! += childCount[i - 1] as number;
  const childStart = childCount;
  const childList = new Int32Array(Math.max(0, dirs - 1));
  const fill = childStart.slice(0, dirs);
  for (let i = 1; i < dirs; i++) {
    const p = parent[i] as number;
    childList[fill[p]!++] = i;
  }

  // Skewed file counts: weight = e^2 with e exponential, normalised to `files`.
  const fileCount = new Int32Array(dirs);
  const weights = new Float64Array(dirs);
  let sum = 0;
  for (let i = 0; i < dirs; i++) {
    const e = -Math.log(1 - rng.next());
    weights[i] = e * e;
    sum += e * e;
  }
  let assigned = 0;
  for (let i = 0; i < dirs; i++) {
    const n = Math.floor(((weights[i] as number) / sum) * files);
    fileCount[i] = n;
    assigned += n;
  }
  for (let left = files - assigned; left > 0; left--) fileCount[rng.int(dirs)]! += 1;

  const names: string[] = new Array<string>(dirs);
  names[0] = '';
  const path: string[] = [];
  const depthOf = new Int32Array(dirs);
  const stack: number[] = [0];
  while (stack.length > 0) {
    const dir = stack.pop() as number;
    const depth = depthOf[dir] as number;
    path.length = Math.max(0, depth - 1);
    if (dir !== 0) path.push(names[dir] as string);

    const taken = new Set<string>();
    const entries: CatalogEntry[] = [];
    const first = childStart[dir] as number;
    const last = childStart[dir + 1] as number;
    for (let c = first; c < last; c++) {
      const child = childList[c] as number;
      const name = unique(dirName(rng), taken);
      names[child] = name;
      depthOf[child] = depth + 1;
      entries.push({ name, kind: NodeKind.Dir, size: 0, mtimeMs: nowMs - rng.int(spanMs), hash: 0n });
    }
    const n = fileCount[dir] as number;
    for (let f = 0; f < n; f++) {
      const size = Math.min(2 ** 40, Math.floor(Math.exp(Math.log(16_384) + 2.5 * rng.normal())));
      entries.push({ name: unique(fileName(rng), taken), kind: NodeKind.File, size, mtimeMs: nowMs - rng.int(spanMs), hash: rng.i64() });
    }
    yield { path: path.slice(), complete: true, entries };
    // Reverse push keeps children visited in listing order.
    for (let c = last - 1; c >= first; c--) stack.push(childList[c] as number);
  }
}

/**
 * Passes `listings` through while keeping a uniform random sample (reservoir)
 * of up to `size` non-directory paths; `sample` is filled once iteration ends.
 */
export function withPathSample(listings: Iterable<DirListing>, size: number, seed = 7): { listings: Iterable<DirListing>; sample: string[][] } {
  const sample: string[][] = [];
  const rng = new Rng(seed);
  let seen = 0;
  function* pass(): Generator<DirListing> {
    for (const listing of listings) {
      for (const e of listing.entries) {
        if (e.kind === NodeKind.Dir) continue;
        seen++;
        if (sample.length < size) sample.push([...listing.path, e.name]);
        else {
          const j = rng.int(seen);
          if (j < size) sample[j] = [...listing.path, e.name];
        }
      }
      yield listing;
    }
  }
  return { listings: pass(), sample };
}
