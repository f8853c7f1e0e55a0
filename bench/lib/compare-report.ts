/**
 * The figures the side-by-side benchmark collects and their markdown: median
 * tables per corpus, Ferry's ratios to each other tool, the Done-when targets
 * stated as met or missed, and the physical-limit references (find, cat).
 *
 * Columns are data (title, digits, how to read a run), so the tables, the
 * ratio tables, the targets and the SVG plot all read the same medians.
 */
import type { Usage } from './measure.ts';
import type { RatioGroup } from './plot.ts';
import { fmt, median } from './report.ts';
import type { ToolName } from './tools.ts';

const MiB = 1024 * 1024;

export interface MixedRun {
  readonly tool: ToolName;
  readonly round: number;
  readonly init: Usage;
  readonly initial: Usage;
  readonly noChange: Usage;
  readonly afterMutate: Usage;
  readonly restore: Usage;
  /** Repository after the three backups. */
  readonly repoBytes: number;
  /** The tool's local caches and state after the three backups. */
  readonly localBytes: number;
}

export interface TinyRun {
  readonly tool: ToolName;
  readonly round: number;
  readonly init: Usage;
  readonly initial: Usage;
  readonly noChange: Usage;
  /** `ferry scan` after the no-change backup; only Ferry has one. */
  readonly scan?: Usage;
  readonly repoBytes: number;
  readonly localBytes: number;
}

export interface Reference {
  readonly round: number;
  /** `find DIR >/dev/null`: the metadata walk. */
  readonly find: Usage;
  /** `find DIR -printf <lstat fields>`: a walk that stats every entry, as a backup must. */
  readonly findStat: Usage;
  /** `find DIR -type f -print0 | xargs -0 cat >/dev/null`: reading every byte. */
  readonly cat: Usage;
}

export interface CorpusFacts {
  readonly files: number;
  readonly bytes: number;
}

/** A table column; `ratio` columns are lower-is-better and get a Ferry/other ratio. */
export interface Column<R> {
  readonly key: string;
  readonly title: string;
  readonly digits: number;
  readonly ratio: boolean;
  value(run: R): number;
}

const peakRss = (...steps: Usage[]): number => Math.max(...steps.map((s) => s.maxRssKiB)) / 1024;

export const MIXED_COLUMNS = [
  { key: 'init', title: 'init (s)', digits: 2, ratio: true, value: (r: MixedRun) => r.init.wallS },
  { key: 'initial', title: 'initial backup (s)', digits: 1, ratio: true, value: (r: MixedRun) => r.initial.wallS },
  { key: 'noChange', title: 'no-change backup (s)', digits: 2, ratio: true, value: (r: MixedRun) => r.noChange.wallS },
  { key: 'afterMutate', title: 'after mutate (s)', digits: 1, ratio: true, value: (r: MixedRun) => r.afterMutate.wallS },
  { key: 'restore', title: 'restore (s)', digits: 1, ratio: true, value: (r: MixedRun) => r.restore.wallS },
  { key: 'repo', title: 'repository (MiB)', digits: 0, ratio: true, value: (r: MixedRun) => r.repoBytes / MiB },
  { key: 'rss', title: 'peak RSS (MiB)', digits: 0, ratio: true, value: (r: MixedRun) => peakRss(r.init, r.initial, r.noChange, r.afterMutate, r.restore) },
  { key: 'cpuInitial', title: 'CPU of initial (s)', digits: 1, ratio: true, value: (r: MixedRun) => r.initial.cpuS },
  { key: 'local', title: 'local cache (MiB)', digits: 0, ratio: false, value: (r: MixedRun) => r.localBytes / MiB },
] as const satisfies readonly Column<MixedRun>[];

export function tinyColumns(files: number): readonly Column<TinyRun>[] {
  return [
    { key: 'init', title: 'init (s)', digits: 2, ratio: true, value: (r) => r.init.wallS },
    { key: 'initial', title: 'initial backup (s)', digits: 1, ratio: true, value: (r) => r.initial.wallS },
    { key: 'noChange', title: 'no-change backup (s)', digits: 2, ratio: true, value: (r) => r.noChange.wallS },
    { key: 'noChangeRate', title: 'no-change files/s', digits: 0, ratio: false, value: (r) => files / r.noChange.wallS },
    { key: 'repo', title: 'repository (MiB)', digits: 1, ratio: true, value: (r) => r.repoBytes / MiB },
    { key: 'rss', title: 'peak RSS (MiB)', digits: 0, ratio: true, value: (r) => peakRss(r.init, r.initial, r.noChange) },
    { key: 'cpuInitial', title: 'CPU of initial (s)', digits: 1, ratio: true, value: (r) => r.initial.cpuS },
    { key: 'cpuNoChange', title: 'CPU of no-change (s)', digits: 2, ratio: true, value: (r) => r.noChange.cpuS },
    { key: 'local', title: 'local cache (MiB)', digits: 0, ratio: false, value: (r) => r.localBytes / MiB },
  ];
}

/** Per tool, the median over rounds of every column. */
export type Medians = ReadonlyMap<ToolName, Readonly<Record<string, number>>>;

export function mediansOf<R extends { readonly tool: ToolName }>(runs: readonly R[], columns: readonly Column<R>[]): Medians {
  const out = new Map<ToolName, Record<string, number>>();
  for (const tool of new Set(runs.map((r) => r.tool))) {
    const mine = runs.filter((r) => r.tool === tool);
    out.set(tool, Object.fromEntries(columns.map((c) => [c.key, median(mine.map((r) => c.value(r)))])));
  }
  return out;
}

const fig = (m: Medians | undefined, tool: ToolName, key: string): number => m?.get(tool)?.[key] ?? NaN;
const ratioOf = (m: Medians | undefined, key: string, other: ToolName): number => fig(m, 'ferry', key) / fig(m, other, key);

const LABELS = { ferry: 'Ferry', restic: 'restic', 'borg-lz4': 'borg lz4', 'borg-zstd3': 'borg zstd,3' } as const satisfies Record<ToolName, string>;
export const toolLabel = (t: ToolName): string => LABELS[t];

export function medianTable<R>(medians: Medians, columns: readonly Column<R>[]): string[] {
  const out = [`| Tool | ${columns.map((c) => c.title).join(' | ')} |`, `|---|${columns.map(() => '---:').join('|')}|`];
  for (const [tool, m] of medians) out.push(`| ${toolLabel(tool)} | ${columns.map((c) => fmt(m[c.key] ?? NaN, c.digits)).join(' | ')} |`);
  return out;
}

/** Ferry's median divided by each other tool's, for the lower-is-better columns; empty without Ferry. */
export function ratioTable<R>(medians: Medians, columns: readonly Column<R>[]): string[] {
  const cols = columns.filter((c) => c.ratio);
  const others = [...medians.keys()].filter((t) => t !== 'ferry');
  if (!medians.has('ferry') || others.length === 0) return [];
  const out = [`| Ratio (lower is better) | ${cols.map((c) => c.title.replace(/ \((s|MiB)\)$/, '')).join(' | ')} |`, `|---|${cols.map(() => '---:').join('|')}|`];
  for (const t of others) out.push(`| Ferry / ${toolLabel(t)} | ${cols.map((c) => `${fmt(ratioOf(medians, c.key, t), 2)}×`).join(' | ')} |`);
  return out;
}

export function ratioGroups<R>(prefix: string, medians: Medians, columns: readonly Column<R>[], against: readonly ToolName[]): RatioGroup[] {
  if (!medians.has('ferry')) return [];
  const present = against.filter((t) => medians.has(t));
  if (present.length === 0) return [];
  return columns
    .filter((c) => c.ratio)
    .map((c) => ({
      label: `${prefix}: ${c.title.replace(/ \((s|MiB)\)$/, '')}`,
      ratios: present.map((t) => ({ against: toolLabel(t), value: ratioOf(medians, c.key, t) })),
    }));
}

// ---------------------------------------------------------------- Done-when targets

export interface TargetInputs {
  readonly mixed: Medians | undefined;
  readonly tiny: Medians | undefined;
  /** Ferry's no-change backup of the tiny corpus, files/s, over `find`'s files/s on it. */
  readonly walkRatio: number;
}

const x = (v: number): string => `${fmt(v, 2)}×`;

function verdict(what: string, checks: readonly { ok: boolean; text: string }[], missing: boolean, needs: string): string {
  if (missing) return `- **not measured**: ${what} (needs ${needs})`;
  return `- **${checks.every((c) => c.ok) ? 'met' : 'missed'}**: ${what}: ${checks.map((c) => c.text).join('; ')}`;
}

/** The Done-when targets of the performance issue, each as a line stating met or missed with its figure. */
export function targetLines(t: TargetInputs): string[] {
  const r = (m: Medians | undefined, key: string, other: ToolName): number => ratioOf(m, key, other);
  const mixedAgainst = (key: string, limit: number, what: string, strict = false): string => {
    const v = r(t.mixed, key, 'restic');
    const ok = strict ? v < limit : v <= limit;
    return verdict(what, [{ ok, text: `${x(v)} restic (target ${strict ? '<' : '≤'} ${x(limit)})` }], Number.isNaN(v), 'ferry and restic on the mixed corpus');
  };
  const initialRestic = r(t.mixed, 'initial', 'restic');
  const initialBorg = r(t.mixed, 'initial', 'borg-lz4');
  const tinyNoChange = r(t.tiny, 'noChange', 'restic');
  return [
    verdict(
      'mixed initial backup ≤ 0.5× restic and faster than borg lz4',
      [
        { ok: initialRestic <= 0.5, text: `${x(initialRestic)} restic (target ≤ 0.50×)` },
        { ok: initialBorg < 1, text: `${x(initialBorg)} borg lz4 (target < 1.00×)` },
      ],
      Number.isNaN(initialRestic) || Number.isNaN(initialBorg),
      'ferry, restic and borg-lz4 on the mixed corpus',
    ),
    mixedAgainst('noChange', 0.5, 'mixed no-change backup ≤ 0.5× restic'),
    mixedAgainst('afterMutate', 0.5, 'mixed backup after mutate ≤ 0.5× restic'),
    mixedAgainst('restore', 1, 'mixed full restore faster than restic', true),
    mixedAgainst('repo', 1, 'mixed repository no larger than restic’s'),
    mixedAgainst('rss', 1, 'mixed peak RSS no larger than restic’s'),
    verdict(
      'tiny no-change backup ≥ 3× faster than restic',
      [{ ok: tinyNoChange <= 1 / 3, text: `restic takes ${x(1 / tinyNoChange)} Ferry’s time (target ≥ 3.00×)` }],
      Number.isNaN(tinyNoChange),
      'ferry and restic on the tiny corpus',
    ),
    verdict(
      'Ferry’s walk ≥ 0.5× find’s rate (tiny no-change backup, files/s)',
      [{ ok: t.walkRatio >= 0.5, text: `${x(t.walkRatio)} find (target ≥ 0.50×)` }],
      Number.isNaN(t.walkRatio),
      'ferry on the tiny corpus',
    ),
  ];
}

// ---------------------------------------------------------------- physical limits

export interface ReferenceFigures {
  readonly findS: number;
  readonly findStatS: number;
  readonly catS: number;
}

export function referenceFigures(refs: readonly Reference[]): ReferenceFigures {
  return { findS: median(refs.map((r) => r.find.wallS)), findStatS: median(refs.map((r) => r.findStat.wallS)), catS: median(refs.map((r) => r.cat.wallS)) };
}

export function referenceTable(rows: readonly { readonly corpus: string; readonly facts: CorpusFacts; readonly ref: ReferenceFigures }[]): string[] {
  const out = ['| Corpus | `find` (s) | `find` files/s | `find` with lstat (s) | with lstat files/s | `cat` all files (s) | `cat` MiB/s |', '|---|---:|---:|---:|---:|---:|---:|'];
  for (const { corpus, facts, ref } of rows) {
    out.push(`| ${corpus} | ${fmt(ref.findS, 2)} | ${fmt(facts.files / ref.findS)} | ${fmt(ref.findStatS, 2)} | ${fmt(facts.files / ref.findStatS)} | ${fmt(ref.catS, 2)} | ${fmt(facts.bytes / MiB / ref.catS)} |`);
  }
  return out;
}
