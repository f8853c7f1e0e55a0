/**
 * Which snapshots a retention policy keeps (`ferry forget`), after restic's
 * `forget`. Pure: no storage, no clock.
 *
 * Contract:
 * - applyPolicy() returns every input exactly once, either in `keep` (with
 *   the reasons, in rule order: `within …`, then last, hourly, daily, weekly,
 *   monthly, yearly) or in `remove`. Both lists are newest first; equal
 *   times are ordered by id, so the result does not depend on input order.
 * - A bucket rule with count N walks the snapshots newest to oldest and
 *   keeps one whenever its bucket differs from the bucket of the last
 *   snapshot this rule kept, until it has kept N; -1 is unlimited, and 0 or
 *   absent means the rule is not used. Rules are independent: each sees
 *   every snapshot, whatever the others kept. `last` gives every snapshot a
 *   bucket of its own. There is no further rule that keeps the oldest
 *   snapshot when a count is not used up.
 * - Buckets are UTC hours, days, ISO weeks (Monday to Sunday, so a week
 *   across New Year is one bucket), months and years. restic uses local
 *   time; UTC makes the result the same on every host, whatever its zone
 *   or daylight saving.
 * - `within` keeps a snapshot whose time is strictly after the newest
 *   snapshot's time minus the duration (years, months and days subtracted
 *   on the calendar, normalised like Date: 31 March minus one month is
 *   3 March, or 2 March in a leap year; then hours). Relative to the newest
 *   snapshot, never to now: a repository nobody backs up into is not
 *   emptied by time passing.
 * - The newest snapshot is always kept, and applying a policy to its own
 *   keep set keeps all of it, so a forget that stopped halfway can be run
 *   again with the same outcome.
 * - A policy with no rule is refused (FerryError `forget.empty-policy`)
 *   rather than read as "remove everything"; a count that is not an integer
 *   ≥ -1 is `forget.bad-count`; a bad `within` is `forget.bad-duration`;
 *   an invalid Date is `forget.bad-time`. Nothing is returned then.
 * - The policy applies to one group of comparable snapshots; groupSnapshots()
 *   makes those groups (same host, source and set of paths).
 */
import { FerryError } from '../../protocol/errors.ts';
import type { Snapshot } from './snapshot.ts';

/**
 * Codes of the FerryErrors a forget raises, none retryable: a bad policy
 * fails the same way again, and a storage error has had its retries
 * (storage/retry.ts) before it becomes RemoveFailed.
 */
export const ForgetErrorCode = {
  /** The policy has no rule: applying it would remove every snapshot. */
  EmptyPolicy: 'forget.empty-policy',
  /** A count is not an integer ≥ -1. */
  BadCount: 'forget.bad-count',
  /** A `within` duration is not of the form `2y5m7d3h`. */
  BadDuration: 'forget.bad-duration',
  /** A snapshot's time is an invalid Date. */
  BadTime: 'forget.bad-time',
  /** Raised by `ferry forget`, not here: storage refused to remove a snapshot the policy did not keep. */
  RemoveFailed: 'forget.remove-failed',
} as const;
export type ForgetErrorCode = (typeof ForgetErrorCode)[keyof typeof ForgetErrorCode];

/** The bucket rules, in the order their reasons are listed. */
export const BucketRule = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
export type BucketRule = (typeof BucketRule)[number];

/** How many buckets of each kind to keep, and a `within` duration such as `2y5m7d3h` (see parseDuration). */
export type KeepPolicy = { readonly [R in BucketRule]?: number } & { readonly within?: string };

/** A calendar duration: whole years, months, days and hours. */
export interface Duration {
  readonly years: number;
  readonly months: number;
  readonly days: number;
  readonly hours: number;
}

/** What applyPolicy needs of a snapshot. */
export interface PolicySnapshot {
  readonly id: string;
  readonly time: Date;
}

export interface KeptSnapshot<S> {
  readonly snapshot: S;
  /** Why, e.g. `['within 7d', 'last snapshot', 'daily snapshot']`; never empty. */
  readonly reasons: readonly string[];
}

export interface PolicyResult<S> {
  readonly keep: readonly KeptSnapshot<S>[];
  readonly remove: readonly S[];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Each rule's bucket of a time (ms since the epoch) at position `nr`, newest first. */
const BUCKETS: Record<BucketRule, (ms: number, nr: number) => number> = {
  last: (_ms, nr) => nr,
  hourly: (ms) => Math.floor(ms / HOUR_MS),
  daily: (ms) => Math.floor(ms / DAY_MS),
  // 1970-01-01 was a Thursday: shifting by three days makes weeks start on Monday, as ISO weeks do.
  weekly: (ms) => Math.floor((Math.floor(ms / DAY_MS) + 3) / 7),
  monthly: (ms) => {
    const d = new Date(ms);
    return d.getUTCFullYear() * 12 + d.getUTCMonth();
  },
  yearly: (ms) => new Date(ms).getUTCFullYear(),
};

/** Code-unit order, the same on every host (localeCompare is not). */
const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)d)?(?:(\d+)h)?$/;

/**
 * Parses `2y5m7d3h`: whole numbers of years (y), months (m), days (d) and
 * hours (h), each at most once and in that order, at least one of them not
 * zero. Anything else (spaces, signs, fractions, other units, `0d`, which
 * would keep nothing) is FerryError `forget.bad-duration`.
 */
export function parseDuration(text: string): Duration {
  const m = DURATION_RE.exec(text);
  const parts = m ? m.slice(1, 5).map((p) => (p === undefined ? 0 : Number(p))) : [];
  if (!m || !parts.every(Number.isSafeInteger) || parts.every((p) => p === 0)) {
    throw new FerryError(
      ForgetErrorCode.BadDuration,
      `${JSON.stringify(text)} is not a duration; write whole numbers of years, months, days and hours in that order, such as 2y5m7d3h or 36h`,
      { details: { input: text } },
    );
  }
  const [years = 0, months = 0, days = 0, hours = 0] = parts;
  return { years, months, days, hours };
}

/** The shortest text parseDuration reads back as `d` (`1y2d`). */
export function formatDuration(d: Duration): string {
  const text = `${d.years ? `${d.years}y` : ''}${d.months ? `${d.months}m` : ''}${d.days ? `${d.days}d` : ''}${d.hours ? `${d.hours}h` : ''}`;
  return text === '' ? '0h' : text;
}

/** Checks a policy without applying it; throws what applyPolicy would. */
export function checkPolicy(policy: KeepPolicy): void {
  compile(policy);
}

interface Compiled {
  readonly counts: readonly { readonly rule: BucketRule; readonly count: number }[];
  readonly within: Duration | undefined;
}

function compile(policy: KeepPolicy): Compiled {
  const counts = [];
  for (const rule of BucketRule) {
    const count = policy[rule];
    if (count === undefined || count === 0) continue;
    if (!Number.isSafeInteger(count) || count < -1) {
      throw new FerryError(ForgetErrorCode.BadCount, `keep ${rule} is ${count}; use a whole number of snapshots, or -1 for unlimited`, { details: { rule, count } });
    }
    counts.push({ rule, count });
  }
  const within = policy.within === undefined ? undefined : parseDuration(policy.within);
  if (counts.length === 0 && within === undefined) {
    throw new FerryError(ForgetErrorCode.EmptyPolicy, 'the policy has no rule, so it would remove every snapshot; give at least one keep rule');
  }
  return { counts, within };
}

/** The time `d` before `from`, on the UTC calendar; -Infinity when that is before the first Date. */
function subtract(from: Date, d: Duration): number {
  const t = new Date(from.getTime());
  t.setUTCFullYear(t.getUTCFullYear() - d.years, t.getUTCMonth() - d.months, t.getUTCDate() - d.days);
  const ms = t.getTime() - d.hours * HOUR_MS;
  return Number.isNaN(ms) ? -Infinity : ms;
}

/** Splits one group's snapshots into kept (with reasons) and removed, as the contract above says. */
export function applyPolicy<S extends PolicySnapshot>(snapshots: readonly S[], policy: KeepPolicy): PolicyResult<S> {
  const { counts, within } = compile(policy);
  for (const s of snapshots) {
    if (Number.isNaN(s.time.getTime())) throw new FerryError(ForgetErrorCode.BadTime, `snapshot ${s.id} has an invalid time`, { details: { id: s.id } });
  }
  const list = [...snapshots].sort((a, b) => b.time.getTime() - a.time.getTime() || compareText(a.id, b.id));
  const newest = list[0];
  if (newest === undefined) return { keep: [], remove: [] };
  const cutoff = within === undefined ? undefined : subtract(newest.time, within);
  const withinReason = within === undefined ? '' : `within ${formatDuration(within)}`;
  const state = counts.map((c) => ({ ...c, left: c.count, last: undefined as number | undefined }));
  const keep: KeptSnapshot<S>[] = [];
  const remove: S[] = [];
  for (const [nr, s] of list.entries()) {
    const ms = s.time.getTime();
    const reasons: string[] = [];
    if (cutoff !== undefined && ms > cutoff) reasons.push(withinReason);
    for (const r of state) {
      if (r.left === 0) continue;
      const bucket = BUCKETS[r.rule](ms, nr);
      if (bucket === r.last) continue;
      r.last = bucket;
      if (r.left > 0) r.left--;
      reasons.push(`${r.rule} snapshot`);
    }
    if (reasons.length > 0) keep.push({ snapshot: s, reasons });
    else remove.push(s);
  }
  return { keep, remove };
}

/** The fields snapshots are grouped by. */
export type GroupFields = Pick<Snapshot, 'host' | 'source' | 'paths'>;

export interface SnapshotGroup<S> {
  readonly host: string;
  readonly source: string;
  /** The group's paths, sorted. */
  readonly paths: readonly string[];
  /** Its snapshots, in input order. */
  readonly snapshots: readonly S[];
}

/**
 * Groups snapshots that a policy compares with one another: the same host,
 * source and set of paths (in any order). Groups come sorted by host, then
 * source, then paths, so output is stable.
 */
export function groupSnapshots<S extends GroupFields>(snapshots: readonly S[]): SnapshotGroup<S>[] {
  const groups = new Map<string, { host: string; source: string; paths: string[]; snapshots: S[] }>();
  for (const s of snapshots) {
    const paths = [...s.paths].sort();
    const key = JSON.stringify([s.host, s.source, paths]);
    let g = groups.get(key);
    if (g === undefined) {
      g = { host: s.host, source: s.source, paths, snapshots: [] };
      groups.set(key, g);
    }
    g.snapshots.push(s);
  }
  const byPaths = (a: readonly string[], b: readonly string[]) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return compareText(a[i]!, b[i]!);
    return a.length - b.length;
  };
  return [...groups.values()].sort((a, b) => compareText(a.host, b.host) || compareText(a.source, b.source) || byPaths(a.paths, b.paths));
}
