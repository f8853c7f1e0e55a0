/**
 * Ferry side by side with restic and borg on the same machine, data and path.
 *
 *   node bench/compare.bench.ts [--rounds R] [--work DIR] [--tools ferry,restic,borg-lz4,borg-zstd3]
 *        [--corpus mixed,tiny] [--tiny-count N] [--no-write]
 *
 * Before round 1, one untimed cycle per tool on a small tree (warmUp()).
 * Mixed corpus (~1 GiB, bench/lib/corpus.ts), per round, tools in turn; for
 * each (tool, round): a fresh copy of the corpus at WORK/data (untimed cp -a),
 * a fresh repository, then timed init, initial backup, no-change backup,
 * mutateMixed (untimed) and a backup after it, the repository's size, and a
 * timed full restore of the last snapshot, checked with diff -r (untimed).
 * Tiny corpus (200,000 files of at most 1 KiB): fresh repository, timed init,
 * initial and no-change backup (and `ferry scan` for Ferry). Physical limits
 * on both corpora each round: `find` (metadata walk), `find -printf` of the
 * lstat fields a backup records (a walk that stats every entry, as any
 * backup must) and `cat` of every file.
 *
 * Restores go to --restore-dir (default /dev/shm/ferry-bench-restore; see RESTORE).
 * Every timed step runs under /usr/bin/time -v after a `sync`, so no step pays
 * for the write-back of the one before. Progress goes to stderr; stdout gets
 * one JSON line of raw figures per (corpus, tool, round) and reference, then
 * the markdown. Medians go to docs/BENCHMARKS.md, section "## Ferry vs restic
 * and borg", with the ratio plot docs/benchmarks/compare-ratios.svg.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateMixed, generateTiny, mutateMixed, type CorpusSummary, type MutationSummary } from './lib/corpus.ts';
import {
  MIXED_COLUMNS, mediansOf, medianTable, ratioGroups, ratioTable, referenceFigures, referenceTable, targetLines, tinyColumns,
  type CorpusFacts, type MixedRun, type Reference, type TinyRun,
} from './lib/compare-report.ts';
import { cleanupMeasure, diskBytes, measure, run, type Command, type Usage } from './lib/measure.ts';
import { ratioChartSvg } from './lib/plot.ts';
import { fmt, machine, machineLines, median, writeSection } from './lib/report.ts';
import { isToolName, REPO_ROOT, TOOLS, type Session, type ToolName } from './lib/tools.ts';

// ---------------------------------------------------------------- options

const argv = process.argv.slice(2);
const { values: args } = parseArgs({
  args: argv,
  options: {
    rounds: { type: 'string', default: '3' },
    work: { type: 'string', default: '/var/tmp/ferry-bench' },
    tools: { type: 'string', default: 'ferry,restic,borg-lz4,borg-zstd3' },
    corpus: { type: 'string', default: 'mixed,tiny' },
    'tiny-count': { type: 'string', default: '200000' },
    'no-write': { type: 'boolean', default: false },
    'restore-dir': { type: 'string' },
  },
});

function intArg(name: string, raw: string, min: number): number {
  const v = Number(raw.replaceAll('_', '').replaceAll(',', ''));
  if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`--${name} must be an integer >= ${min}, got ${raw}`);
  return v;
}

function listArg<T extends string>(name: string, raw: string, ok: (s: string) => s is T): T[] {
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const s of items) if (!ok(s)) throw new RangeError(`--${name}: unknown ${JSON.stringify(s)}`);
  if (items.length === 0) throw new RangeError(`--${name} is empty`);
  return [...new Set(items as T[])];
}

const ROUNDS = intArg('rounds', args.rounds, 1);
const TINY_COUNT = intArg('tiny-count', args['tiny-count'], 1);
const TOOL_LIST = listArg('tools', args.tools, isToolName);
const CORPORA = listArg('corpus', args.corpus, (s): s is 'mixed' | 'tiny' => s === 'mixed' || s === 'tiny');
const WORK = resolve(args.work);
const SEEDS = { mixed: 'ferry-mixed-1', mutate: 'ferry-mutate-1', tiny: 'ferry-tiny-1' } as const;

const DATA = join(WORK, 'data');
/**
 * Restores go to tmpfs by default. On ext4, creating files within ~30 s of
 * deleting many (the harness deletes the previous copy of the corpus before
 * each round) spends most of its time in the kernel searching for inodes
 * that were not recently deleted (perf: ext4_create -> recently_deleted); how
 * much a tool paid for that depended on how fast its earlier steps were.
 */
const RESTORE = resolve(args['restore-dir'] ?? (existsSync('/dev/shm') ? '/dev/shm/ferry-bench-restore' : join(WORK, 'restore')));
const MIXED_BASE = join(WORK, 'corpus', 'mixed');
const TINY = join(WORK, 'corpus', `tiny-${TINY_COUNT}`);
const WORK_MARKER = join(WORK, '.ferry-bench');

// ---------------------------------------------------------------- set-up helpers

const log = (line: string): void => console.error(line);
const rmrf = (path: string): void => rmSync(path, { recursive: true, force: true });
const sh = (label: string, file: string, ...a: string[]): string => run(label, { file, args: a });

/** The harness deletes freely under WORK, so WORK must be empty or one of its own. */
function claimWorkDir(): void {
  if (existsSync(WORK) && readdirSync(WORK).length > 0 && !existsSync(WORK_MARKER)) {
    throw new Error(`--work ${WORK} is not empty and not a ferry-bench directory (no .ferry-bench marker); refusing to delete in it`);
  }
  mkdirSync(WORK, { recursive: true });
  writeFileSync(WORK_MARKER, 'scratch space of bench/compare.bench.ts; deleted and rewritten freely\n');
}

/**
 * A generated corpus is reused when its marker names the same seed (and
 * size); the marker is written last, so an interrupted generation is redone.
 */
function ensureCorpus(dir: string, key: string, generate: () => CorpusSummary): CorpusFacts {
  const marker = `${dir}.complete.json`;
  if (existsSync(marker)) {
    const m = JSON.parse(readFileSync(marker, 'utf8')) as { key?: string; files?: number; bytes?: number };
    if (m.key === key && typeof m.files === 'number' && typeof m.bytes === 'number') {
      log(`corpus ${dir}: reusing (${fmt(m.files)} files, ${fmt(m.bytes / 2 ** 20)} MiB)`);
      return { files: m.files, bytes: m.bytes };
    }
  }
  rmrf(marker);
  rmrf(dir);
  const t = performance.now();
  log(`corpus ${dir}: generating (${key})…`);
  const s = generate();
  writeFileSync(marker, `${JSON.stringify({ key, ...s })}\n`);
  log(`corpus ${dir}: ${fmt(s.files)} files, ${fmt(s.bytes / 2 ** 20)} MiB in ${fmt((performance.now() - t) / 1000, 1)} s`);
  return { files: s.files, bytes: s.bytes };
}

function prepareData(): void {
  rmrf(DATA);
  sh('copying the mixed corpus', 'cp', '-a', MIXED_BASE, DATA);
}

/** An empty directory for one (tool, round): repository, caches and passphrase, none left from before. */
function freshSession(tool: ToolName): { dir: string; session: Session } {
  const dir = join(WORK, 'runs', tool);
  rmrf(dir);
  mkdirSync(dir, { recursive: true });
  return { dir, session: TOOLS[tool].session(dir) };
}

/** One timed step; write-back of earlier steps is flushed first so it is nobody's cost. */
function step(label: string, cmd: Command): Usage {
  sh('sync', 'sync');
  const { wallS, maxRssKiB, cpuS } = measure(label, cmd);
  log(`  ${label}: ${fmt(wallS, 2)} s, ${fmt(maxRssKiB / 1024)} MiB peak RSS, ${fmt(cpuS, 2)} s CPU`);
  return { wallS, maxRssKiB, cpuS };
}

/** The lstat fields a backup records per entry; printing them makes find stat every entry. */
const FIND_STAT_FORMAT = '%i %s %T@ %C@ %A@ %m %U %G %n %y\\n';

function references(corpus: string, dir: string, round: number): Reference {
  const bash = (what: string, script: string): Usage => step(`${corpus} round ${round}: ${what}`, { file: 'bash', args: ['-c', `set -o pipefail; ${script}`, 'bash', dir] });
  const find = bash('find (walk)', 'find "$1" >/dev/null');
  const findStat = bash('find -printf of lstat fields (walk with a stat per entry)', `find "$1" -printf '${FIND_STAT_FORMAT}' >/dev/null`);
  const cat = bash('cat every file (read)', 'find "$1" -type f -print0 | xargs -0 cat >/dev/null');
  const ref = { round, find, findStat, cat };
  console.log(JSON.stringify({ corpus, kind: 'reference', ...ref }));
  return ref;
}

// ---------------------------------------------------------------- warm-up

const WARMUP = join(WORK, 'warmup');

/**
 * One untimed cycle per tool before round 1, on a small tree: 300 of the
 * corpus's small files and its first large file (so a file is sent ahead),
 * init, a backup, a backup after an append, and a restore. The first run of
 * a Ferry checkout compiles its TypeScript into Node's compile cache, which
 * every later run finds, as every run of an installed Ferry does; without
 * this, round 1 of the first tool paid for it (about 10 MiB more peak and a
 * slower backup after mutate, whose modules load only then). Every tool
 * gets the same, so their binaries are in the page cache alike.
 */
function warmUp(tool: ToolName): void {
  rmrf(WARMUP);
  mkdirSync(WARMUP, { recursive: true });
  sh('warm-up tree', 'bash', '-c', 'set -o pipefail; cd "$1" && find . -type f -name "f*" | sort | awk "NR <= 300" | rsync -a --files-from=- ./ "$2/" && cp -a large-0.img "$2/"', 'bash', MIXED_BASE, WARMUP);
  const { dir, session: s } = freshSession(tool);
  const label = (what: string): string => `${tool} warm-up (untimed): ${what}`;
  step(label('init'), s.init());
  step(label('backup'), s.backup(WARMUP));
  sh('warm-up change', 'bash', '-c', 'find "$1" -type f -name "f*" | sort | awk "NR <= 3" | while read -r f; do echo appended >> "$f"; done', 'bash', WARMUP);
  step(label('backup after a change'), s.backup(WARMUP));
  rmrf(RESTORE);
  mkdirSync(RESTORE);
  step(label('restore'), s.restoreLatest(RESTORE));
  rmrf(RESTORE);
  rmrf(dir);
  rmrf(WARMUP);
}

// ---------------------------------------------------------------- one (tool, round)

let mutation: MutationSummary | undefined;

function mixedRound(tool: ToolName, round: number): MixedRun {
  prepareData();
  const { dir, session: s } = freshSession(tool);
  const label = (what: string): string => `${tool} mixed round ${round}: ${what}`;
  const init = step(label('init'), s.init());
  const initial = step(label('initial backup'), s.backup(DATA));
  const noChange = step(label('no-change backup'), s.backup(DATA));
  const first = mutation === undefined;
  mutation = mutateMixed(DATA, SEEDS.mutate);
  if (first) log(`  mutateMixed: ${JSON.stringify(mutation)}`);
  const afterMutate = step(label('backup after mutate'), s.backup(DATA));
  const repoBytes = diskBytes(s.repo);
  const localBytes = diskBytes(s.local);
  rmrf(RESTORE);
  mkdirSync(RESTORE);
  const restore = step(label('restore'), s.restoreLatest(RESTORE));
  const restored = s.restoredPath(RESTORE, DATA);
  if (!existsSync(restored)) throw new Error(`${label('verify restore')} failed: ${restored} does not exist; the restore laid out: ${readdirSync(RESTORE).join(', ') || '(nothing)'}`);
  sh(label('verify restore (diff -r against the backed-up tree)'), 'diff', '-rq', '--no-dereference', DATA, restored);
  rmrf(RESTORE);
  rmrf(dir);
  const r: MixedRun = { tool, round, init, initial, noChange, afterMutate, restore, repoBytes, localBytes };
  console.log(JSON.stringify({ corpus: 'mixed', ...r }));
  return r;
}

function tinyRound(tool: ToolName, round: number): TinyRun {
  const { dir, session: s } = freshSession(tool);
  const label = (what: string): string => `${tool} tiny round ${round}: ${what}`;
  const init = step(label('init'), s.init());
  const initial = step(label('initial backup'), s.backup(TINY));
  const noChange = step(label('no-change backup'), s.backup(TINY));
  const scan = s.scan === undefined ? undefined : step(label('scan'), s.scan(TINY));
  const r: TinyRun = { tool, round, init, initial, noChange, ...(scan ? { scan } : {}), repoBytes: diskBytes(s.repo), localBytes: diskBytes(s.local) };
  rmrf(dir);
  console.log(JSON.stringify({ corpus: 'tiny', ...r }));
  return r;
}

// ---------------------------------------------------------------- main

const command = ['node bench/compare.bench.ts', ...argv].join(' ');
const started = performance.now();
const m = machine();
const mixedRuns: MixedRun[] = [];
const tinyRuns: TinyRun[] = [];
const mixedRefs: Reference[] = [];
const tinyRefs: Reference[] = [];
let mixedFacts: CorpusFacts | undefined;
let tinyFacts: CorpusFacts | undefined;
let versions: string[] = [];
let failed = false;

try {
  if (!existsSync('/usr/bin/time')) throw new Error('/usr/bin/time (GNU time) is missing: apt-get install time');
  // Asking every tool its version first fails fast on a missing tool, before minutes of corpus generation.
  versions = [...new Set(TOOL_LIST.map((t) => TOOLS[t].version()))];
  log(command);
  log(`machine: ${m.nproc} CPUs (${m.cpu}), ${fmt(m.memGiB, 1)} GiB, load ${fmt(m.load, 2)}; ${versions.join('; ')}`);
  claimWorkDir();

  if (CORPORA.includes('mixed')) {
    mixedFacts = ensureCorpus(MIXED_BASE, `mixed:${SEEDS.mixed}`, () => generateMixed(MIXED_BASE, SEEDS.mixed));
    for (const tool of TOOL_LIST) warmUp(tool);
    for (let r = 1; r <= ROUNDS; r++) {
      log(`mixed round ${r}/${ROUNDS}`);
      // The reference reads the same fresh copy the tools get, with the same warm cache.
      prepareData();
      mixedRefs.push(references('mixed', DATA, r));
      for (const tool of TOOL_LIST) mixedRuns.push(mixedRound(tool, r));
    }
    rmrf(DATA);
  }

  if (CORPORA.includes('tiny')) {
    tinyFacts = ensureCorpus(TINY, `tiny:${SEEDS.tiny}:${TINY_COUNT}`, () => generateTiny(TINY, SEEDS.tiny, TINY_COUNT));
    // Warm the page cache once, so round 1's first tool does not read from disk where every later one reads memory.
    sh('warming the tiny corpus', 'bash', '-c', 'set -o pipefail; find "$1" -type f -print0 | xargs -0 cat >/dev/null', 'bash', TINY);
    for (let r = 1; r <= ROUNDS; r++) {
      log(`tiny round ${r}/${ROUNDS}`);
      tinyRefs.push(references('tiny', TINY, r));
      for (const tool of TOOL_LIST) tinyRuns.push(tinyRound(tool, r));
    }
  }
} catch (err) {
  console.error(`\ncompare.bench.ts: ${err instanceof Error ? err.message : String(err)}`);
  console.error(`(files of the failed step are left under ${WORK} for inspection)`);
  failed = true;
} finally {
  cleanupMeasure();
}
if (failed) process.exit(1);

// ---------------------------------------------------------------- report

const MiB = 2 ** 20;
const roundsText = `${ROUNDS} round${ROUNDS === 1 ? '' : 's'}`;
const minutes = (performance.now() - started) / 60_000;
const mixedMedians = mixedRuns.length > 0 ? mediansOf(mixedRuns, MIXED_COLUMNS) : undefined;
const tinyCols = tinyColumns(tinyFacts?.files ?? NaN);
const tinyMedians = tinyRuns.length > 0 ? mediansOf(tinyRuns, tinyCols) : undefined;
const mixedRef = mixedRefs.length > 0 ? referenceFigures(mixedRefs) : undefined;
const tinyRef = tinyRefs.length > 0 ? referenceFigures(tinyRefs) : undefined;

const ferryTiny = tinyRuns.filter((r) => r.tool === 'ferry');
const walkRate = median(ferryTiny.map((r) => (tinyFacts?.files ?? NaN) / r.noChange.wallS));
const scanRate = median(ferryTiny.flatMap((r) => (r.scan ? [(tinyFacts?.files ?? NaN) / r.scan.wallS] : [])));
const findRate = tinyFacts && tinyRef ? tinyFacts.files / tinyRef.findS : NaN;
const findStatRate = tinyFacts && tinyRef ? tinyFacts.files / tinyRef.findStatS : NaN;
const readRate = (tool: ToolName): number => (mixedFacts?.bytes ?? NaN) / (mixedMedians?.get(tool)?.initial ?? NaN);
const catRate = mixedFacts && mixedRef ? mixedFacts.bytes / mixedRef.catS : NaN;

const corpusLine = (name: string, f: CorpusFacts | undefined, seed: string): string =>
  f ? `${name} ${fmt(f.files)} files, ${fmt(f.bytes / MiB)} MiB (seed \`${seed}\`)` : `${name} not run`;
const mutationLine = mutation
  ? `mutateMixed (seed \`${SEEDS.mutate}\`): ${fmt(mutation.appended)} files appended to, ${fmt(mutation.editedInMiddle)} edited in the middle, ` +
    `${fmt(mutation.deleted)} deleted, ${fmt(mutation.created)} created, a directory of ${fmt(mutation.renamedFiles)} files renamed`
  : '';

const lines: string[] = [];
if (mixedMedians && mixedFacts) {
  lines.push(`### Mixed corpus: ${fmt(mixedFacts.files)} files, ${fmt(mixedFacts.bytes / MiB)} MiB`, '');
  lines.push('Median seconds per step; repository after the three backups; peak RSS is the largest of the five steps.', '');
  lines.push(...medianTable(mixedMedians, MIXED_COLUMNS), '', ...ratioTable(mixedMedians, MIXED_COLUMNS), '');
}
if (tinyMedians && tinyFacts) {
  lines.push(`### Tiny corpus: ${fmt(tinyFacts.files)} files, ${fmt(tinyFacts.bytes / MiB, 1)} MiB`, '');
  lines.push(...medianTable(tinyMedians, tinyCols), '', ...ratioTable(tinyMedians, tinyCols), '');
}
if (mixedRef || tinyRef) {
  const rows = [
    ...(mixedRef && mixedFacts ? [{ corpus: 'mixed', facts: mixedFacts, ref: mixedRef }] : []),
    ...(tinyRef && tinyFacts ? [{ corpus: 'tiny', facts: tinyFacts, ref: tinyRef }] : []),
  ];
  lines.push('### Physical limits on this machine (warm page cache)', '', ...referenceTable(rows), '');
  if (Number.isFinite(walkRate)) {
    lines.push(`- Walk: Ferry's no-change backup of the tiny corpus covers ${fmt(walkRate)} files/s, ${fmt(walkRate / findRate, 2)}× find's ${fmt(findRate)} files/s` +
      (Number.isFinite(scanRate) ? `; \`ferry scan\` ${fmt(scanRate)} files/s (${fmt(scanRate / findRate, 2)}×)` : ''));
    lines.push(`- Walk bound: a backup must lstat every entry to see what changed; \`find\` printing those fields walks the tiny corpus at ${fmt(findStatRate)} files/s, ` +
      `${fmt(findStatRate / findRate, 2)}× its plain walk (which reads directories only). Ferry's no-change backup runs at ${fmt(walkRate / findStatRate, 2)}× that bound.`);
  }
  if (Number.isFinite(readRate('ferry'))) {
    const others = TOOL_LIST.filter((t) => t !== 'ferry').map((t) => `${t} ${fmt(readRate(t) / MiB)} MiB/s`);
    lines.push(`- Read: Ferry's initial backup of the mixed corpus takes in ${fmt(readRate('ferry') / MiB)} MiB/s, ${fmt(readRate('ferry') / catRate, 2)}× cat's ${fmt(catRate / MiB)} MiB/s` +
      (others.length > 0 ? ` (${others.join(', ')})` : ''));
  }
  lines.push('');
}
const targets = targetLines({ mixed: mixedMedians, tiny: tinyMedians, walkRatio: walkRate / findRate });
lines.push('### Targets (medians)', '', ...targets);

console.log('');
for (const l of lines) console.log(l);
log(`\ndone in ${fmt(minutes, 1)} min`);

if (!args['no-write']) {
  const against: ToolName[] = ['restic', 'borg-lz4'];
  const groups = [
    ...(mixedMedians ? ratioGroups('mixed', mixedMedians, MIXED_COLUMNS, against) : []),
    ...(tinyMedians ? ratioGroups('tiny', tinyMedians, tinyCols, against) : []),
  ];
  const plotted = groups.length > 0;
  if (plotted) {
    const svg = join(REPO_ROOT, 'docs', 'benchmarks', 'compare-ratios.svg');
    mkdirSync(join(REPO_ROOT, 'docs', 'benchmarks'), { recursive: true });
    writeFileSync(svg, ratioChartSvg(`Ferry vs restic and borg lz4 (median of ${roundsText})`, groups));
  }
  const body = [
    'Ferry, restic and borg (lz4 and zstd,3) back up the same deterministic',
    'corpora (`bench/lib/corpus.ts`) from the same path on the same machine,',
    'taking turns within each round. Each (tool, round) starts from a fresh',
    'repository and fresh local caches; on the mixed corpus also from a fresh',
    '`cp -a` of it. Every tool reads the corpus right after that copy, so page',
    'caches are warm for all alike (nothing is dropped; that needs root). A',
    '`sync` runs before every timed step, so no step pays for the write-back of',
    'the one before. Before round 1, each tool runs init, two backups and a',
    'restore of a small tree once, untimed (`warmUp` in the harness): the first',
    'run of a Ferry checkout compiles its TypeScript into Node\'s compile cache,',
    'which every later run, like every run of an installed Ferry, finds.',
    'Times, peak RSS and CPU come from `/usr/bin/time -v`; peak',
    'RSS is the largest single process the command waited for, and CPU counts',
    'those processes. For Ferry that is its Node process: the embedded',
    'nats-server it starts is left to exit on its own, so neither its memory',
    '(about 35 MiB at its peak) nor its CPU is counted.',
    'The repository is `du -sb` of its directory; local caches (restic cache,',
    'borg base dir, Ferry state dir with catalog and NATS store) are shown apart.',
    `Restores go to ${RESTORE.startsWith('/dev/shm') ? 'tmpfs' : RESTORE} and are checked with \`diff -r\` against the backed-up tree`,
    '(ext4 creates files slowly for ~30 s after a mass deletion, such as the',
    'harness removing the previous copy of the corpus; tmpfs keeps that out).',
    '',
    ...machineLines(m, os.loadavg()[0] ?? NaN),
    `- Tools: ${versions.join('; ')}`,
    `- Settings: restic \`init --repository-version 2\`, \`backup --compression auto\`; borg \`init --encryption=repokey-blake2\`, \`create --compression lz4\` / \`zstd,3\`; Ferry defaults`,
    `- Corpora: ${corpusLine('mixed', mixedFacts, SEEDS.mixed)}; ${corpusLine('tiny', tinyFacts, SEEDS.tiny)}`,
    ...(mutationLine ? [`- ${mutationLine}`] : []),
    `- Date: ${new Date().toISOString().slice(0, 10)}; ${roundsText}, medians; the run took ${fmt(minutes)} min`,
    `- Command: \`${command}\``,
    '',
    ...lines,
    ...(plotted ? ['', '![Ferry / restic and Ferry / borg lz4, medians; lower is better](benchmarks/compare-ratios.svg)'] : []),
  ].join('\n');
  writeSection('## Ferry vs restic and borg', body);
  log(`wrote docs/BENCHMARKS.md, section "Ferry vs restic and borg"${plotted ? ', and docs/benchmarks/compare-ratios.svg' : ''}`);
}
