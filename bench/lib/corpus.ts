/**
 * Deterministic benchmark corpora (issue "Performance"). A corpus is a
 * function of its seed: two machines generating `mixed` with the same seed get
 * the same paths and bytes, so restic, borg and Ferry are measured on the
 * same data.
 *
 * - `mixed` (~1 GiB): ~30k small text-like files in a deep tree, ~260 medium
 *   files (half random, half compressible), four 50-150 MiB files built from
 *   blocks some of which repeat, and 10% of files duplicated elsewhere.
 * - `mutate`: changes ~2% of a `mixed` tree in place: appends, edits in the
 *   middle of large files, a renamed subtree, deletions and new files.
 * - `tiny`: 200,000 files of at most 1 KiB.
 *
 * Writes are synchronous: generation is a set-up step, and sync calls keep it
 * simple and fast enough (seconds, not minutes).
 */
import { appendFileSync, mkdirSync, openSync, closeSync, writeSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { Prng, RandomBytes } from './prng.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

export interface CorpusSummary {
  readonly files: number;
  readonly bytes: number;
  readonly dirs: number;
}

/** Text that compresses like source code or logs: words from a fixed vocabulary, in lines. */
class TextPool {
  readonly pool: Buffer;

  constructor(prng: Prng, size: number) {
    const letters = 'etaoinshrdlucmfwypvbgkqjxz';
    const words: string[] = [];
    for (let i = 0; i < 4000; i++) {
      let w = '';
      const len = 2 + prng.int(9);
      for (let j = 0; j < len; j++) w += letters[Math.min(letters.length - 1, Math.floor(Math.abs(prng.next() / 0x1_0000_0000) ** 2 * letters.length))];
      words.push(w);
    }
    const parts: string[] = [];
    let length = 0;
    while (length < size) {
      const n = 3 + prng.int(12);
      let line = '  '.repeat(prng.int(4));
      for (let i = 0; i < n; i++) line += (i ? ' ' : '') + words[Math.floor((prng.next() / 0x1_0000_0000) ** 3 * words.length)]!;
      line += prng.chance(0.2) ? ` = ${prng.next()};\n` : '\n';
      parts.push(line);
      length += line.length;
    }
    this.pool = Buffer.from(parts.join(''), 'latin1').subarray(0, size);
  }

  /** `n` bytes of text starting at a random place, behind a header line that makes the file unique. */
  take(prng: Prng, n: number, header: string): Buffer {
    const head = Buffer.from(`// ${header}\n`, 'latin1');
    const body = Math.max(0, n - head.length);
    const at = prng.int(this.pool.length - body);
    return Buffer.concat([head, this.pool.subarray(at, at + body)]).subarray(0, n);
  }
}

class Writer {
  files = 0;
  bytes = 0;
  write(path: string, data: Buffer): void {
    writeFileSync(path, data);
    this.files++;
    this.bytes += data.length;
  }
}

function makeTree(prng: Prng, root: string, count: number, maxDepth: number): string[] {
  const dirs = [root];
  const depth = new Map<string, number>([[root, 0]]);
  for (let i = 0; i < count; i++) {
    let parent = prng.pick(dirs);
    while (depth.get(parent)! >= maxDepth) parent = dirname(parent);
    const dir = join(parent, `d${i.toString(36)}-${prng.int(1000)}`);
    mkdirSync(dir, { recursive: true });
    dirs.push(dir);
    depth.set(dir, depth.get(parent)! + 1);
  }
  return dirs;
}

/** Large file: blocks of 256 KiB-2 MiB, 60% random, 15% text, 25% copies of an earlier block of the same file. */
function writeLargeFile(path: string, size: number, prng: Prng, rnd: RandomBytes, text: TextPool): void {
  const fd = openSync(path, 'w');
  const earlier: Buffer[] = [];
  let written = 0;
  try {
    while (written < size) {
      const n = Math.min(size - written, prng.logInt(256 * KiB, 2 * MiB));
      const roll = prng.int(100);
      let block: Buffer;
      if (roll < 25 && earlier.length > 0) block = prng.pick(earlier).subarray(0, n);
      else if (roll < 40) block = text.take(prng, n, `${path}@${written}`);
      else block = rnd.take(n);
      if (earlier.length < 16) earlier.push(block);
      else earlier[prng.int(16)] = block;
      writeSync(fd, block);
      written += block.length;
    }
  } finally {
    closeSync(fd);
  }
}

export function generateMixed(root: string, seed = 'ferry-mixed-1'): CorpusSummary {
  const prng = new Prng(seed);
  const rnd = new RandomBytes(seed);
  const text = new TextPool(prng, 8 * MiB);
  const w = new Writer();
  mkdirSync(root, { recursive: true });
  const dirs = makeTree(prng, root, 1500, 8);
  const written: string[] = [];

  for (let i = 0; i < 30_000; i++) {
    const path = join(prng.pick(dirs), `f${i}.${prng.pick(['txt', 'c', 'ts', 'md', 'log', 'json'])}`);
    w.write(path, text.take(prng, prng.logInt(64, 64 * KiB), path));
    written.push(path);
  }
  for (let i = 0; i < 260; i++) {
    const path = join(prng.pick(dirs), `m${i}.${i % 2 ? 'bin' : 'csv'}`);
    const size = prng.logInt(256 * KiB, 4 * MiB);
    w.write(path, i % 2 ? rnd.take(size) : text.take(prng, size, path));
    written.push(path);
  }
  for (let i = 0; i < 4; i++) {
    const path = join(root, `large-${i}.img`);
    writeLargeFile(path, prng.logInt(50 * MiB, 150 * MiB), prng, rnd, text);
    w.files++;
    w.bytes += statSync(path).size;
  }
  // 10% duplicates: byte-identical copies under other names and directories.
  const dups = Math.round(w.files / 10);
  for (let i = 0; i < dups; i++) {
    const from = prng.pick(written);
    w.write(join(prng.pick(dirs), `copy${i}-${from.slice(from.lastIndexOf('/') + 1)}`), readFileSync(from));
  }
  return { files: w.files, bytes: w.bytes, dirs: dirs.length };
}

/** Every regular file under `root`, sorted, so a mutation picks the same files on every machine. */
function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(root);
  return out;
}

export interface MutationSummary {
  readonly appended: number;
  readonly editedInMiddle: number;
  readonly renamedDir: string;
  readonly renamedFiles: number;
  readonly deleted: number;
  readonly created: number;
}

/** Changes about 2% of a `mixed` tree, in place. Deterministic for a given tree and seed. */
export function mutateMixed(root: string, seed = 'ferry-mutate-1'): MutationSummary {
  const prng = new Prng(seed);
  const rnd = new RandomBytes(seed);
  const text = new TextPool(prng, 2 * MiB);
  const files = listFiles(root);
  const small = files.filter((f) => /\/f\d+\.\w+$/.test(f));
  const medium = files.filter((f) => /\/m\d+\.\w+$/.test(f));
  const large = files.filter((f) => /\/large-\d+\.img$/.test(f));

  // A subtree holding roughly 1% of the files is renamed (its content is unchanged).
  const dirs = [...new Set(files.map((f) => dirname(f)))].filter((d) => d !== root).sort();
  const counts = new Map<string, number>();
  for (const f of files) {
    for (let d = dirname(f); d.length > root.length; d = dirname(d)) counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  const target = files.length / 100;
  const renamed = dirs.reduce((best, d) => (Math.abs((counts.get(d) ?? 0) - target) < Math.abs((counts.get(best) ?? 0) - target) ? d : best), dirs[0]!);
  const inRenamed = (f: string): boolean => f.startsWith(`${renamed}/`);

  const pickDistinct = (from: string[], n: number): string[] => {
    const pool = from.filter((f) => !inRenamed(f));
    const chosen = new Set<string>();
    while (chosen.size < Math.min(n, pool.length)) chosen.add(prng.pick(pool));
    return [...chosen].sort();
  };

  const appendTo = pickDistinct(small, Math.round(files.length * 0.005));
  for (const f of appendTo) appendFileSync(f, text.take(prng, prng.logInt(100, 4 * KiB), `append ${f}`));

  const edit = [...large, ...pickDistinct(medium, 20)];
  for (const f of edit) {
    const size = statSync(f).size;
    const fd = openSync(f, 'r+');
    writeSync(fd, rnd.take(Math.min(64 * KiB, size)), 0, Math.min(64 * KiB, size), Math.floor(size / 2));
    closeSync(fd);
  }

  const remove = pickDistinct(small.filter((f) => !appendTo.includes(f)), Math.round(files.length * 0.005));
  for (const f of remove) rmSync(f);

  const created = Math.round(files.length * 0.006);
  for (let i = 0; i < created; i++) {
    const dir = dirname(prng.pick(small));
    const path = join(dir, `new${i}.txt`);
    const data = i % 40 === 0 ? rnd.take(prng.logInt(256 * KiB, 2 * MiB)) : text.take(prng, prng.logInt(64, 32 * KiB), path);
    writeFileSync(path, data);
  }
  const renamedFiles = files.filter(inRenamed).length;
  renameSync(renamed, `${renamed}-renamed`);
  return { appended: appendTo.length, editedInMiddle: edit.length, renamedDir: renamed, renamedFiles, deleted: remove.length, created };
}

export function generateTiny(root: string, seed = 'ferry-tiny-1', count = 200_000): CorpusSummary {
  const prng = new Prng(seed);
  const text = new TextPool(prng, 1 * MiB);
  const w = new Writer();
  let dirs = 0;
  for (let i = 0; i < count; i++) {
    if (i % 1000 === 0) {
      mkdirSync(join(root, `t${Math.floor(i / 20_000)}`, `s${Math.floor(i / 1000) % 20}`), { recursive: true });
      dirs++;
    }
    const path = join(root, `t${Math.floor(i / 20_000)}`, `s${Math.floor(i / 1000) % 20}`, `x${i}.txt`);
    w.write(path, text.take(prng, 1 + prng.int(1024), path));
  }
  return { files: w.files, bytes: w.bytes, dirs };
}
