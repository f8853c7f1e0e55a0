/**
 * The retention policy against one fixed list of snapshot times, with every
 * expected keep set worked out by hand from the rules (as restic's
 * snapshot_policy tests do). Each snapshot's id is its UTC time, so the
 * tables read as times. Weekdays: 2024-03-11 and 2024-03-04 are Mondays,
 * 2022-12-26 is a Monday and 2023-01-01 a Sunday (one ISO week across New
 * Year), 2024-02-29 is a leap day.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { applyPolicy, checkPolicy, formatDuration, groupSnapshots, parseDuration, type KeepPolicy, type PolicySnapshot } from './forget-policy.ts';

const TIMES = [
  '2024-03-13T12:00', '2024-03-13T08:10', '2024-03-13T08:00',
  '2024-03-12T15:20', '2024-03-12T15:00', '2024-03-12T03:00',
  '2024-03-11T13:45', '2024-03-11T13:00', '2024-03-11T10:05', '2024-03-11T09:30', '2024-03-11T09:00', '2024-03-11T00:01',
  '2024-03-10T23:59', '2024-03-09T12:00', '2024-03-08T07:00', '2024-03-06T22:00', '2024-03-06T10:00', '2024-03-05T08:00', '2024-03-04T09:00',
  '2024-03-01T01:00', '2024-02-29T23:00', '2024-01-03T10:00',
  '2023-12-30T10:00', '2023-09-20T20:00', '2023-06-10T10:00', '2023-03-31T12:00', '2023-02-28T18:00',
  '2023-01-15T06:00', '2023-01-02T12:00', '2023-01-01T00:15',
  '2022-12-31T23:30', '2022-12-26T09:00', '2022-12-01T08:00', '2022-11-15T10:00',
] as const;

const snap = (t: string) => ({ id: t, time: new Date(`${t}:00Z`) });
// Oldest first and shuffled by a fixed stride, so sorting is the policy's job.
const SNAPS = TIMES.map((_, i) => TIMES[(i * 7) % TIMES.length]!).map(snap);
const ALL = [...TIMES];

const kept = (policy: KeepPolicy, list: readonly PolicySnapshot[] = SNAPS) => applyPolicy(list, policy).keep.map((k) => k.snapshot.id);
const errorCode = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'no error';
};

const TABLE: readonly { name: string; policy: KeepPolicy; keep: readonly string[] }[] = [
  { name: 'last 5', policy: { last: 5 }, keep: ['2024-03-13T12:00', '2024-03-13T08:10', '2024-03-13T08:00', '2024-03-12T15:20', '2024-03-12T15:00'] },
  { name: 'last 1', policy: { last: 1 }, keep: ['2024-03-13T12:00'] },
  { name: 'last -1 keeps everything', policy: { last: -1 }, keep: ALL },
  { name: 'last 0 beside another rule is unused', policy: { last: 0, yearly: 1 }, keep: ['2024-03-13T12:00'] },
  {
    name: 'hourly 6 keeps the newest of each hour',
    policy: { hourly: 6 },
    keep: ['2024-03-13T12:00', '2024-03-13T08:10', '2024-03-12T15:20', '2024-03-12T03:00', '2024-03-11T13:45', '2024-03-11T10:05'],
  },
  { name: 'daily 5', policy: { daily: 5 }, keep: ['2024-03-13T12:00', '2024-03-12T15:20', '2024-03-11T13:45', '2024-03-10T23:59', '2024-03-09T12:00'] },
  {
    name: 'daily -1 drops only same-day duplicates',
    policy: { daily: -1 },
    keep: ALL.filter((t) => !['2024-03-13T08:10', '2024-03-13T08:00', '2024-03-12T15:00', '2024-03-12T03:00', '2024-03-11T13:00', '2024-03-11T10:05',
      '2024-03-11T09:30', '2024-03-11T09:00', '2024-03-11T00:01', '2024-03-06T10:00'].includes(t)),
  },
  { name: 'weekly 4 (Monday to Sunday)', policy: { weekly: 4 }, keep: ['2024-03-13T12:00', '2024-03-10T23:59', '2024-03-01T01:00', '2024-01-03T10:00'] },
  {
    name: 'weekly -1: an ISO week across New Year is one bucket',
    policy: { weekly: -1 },
    keep: ['2024-03-13T12:00', '2024-03-10T23:59', '2024-03-01T01:00', '2024-01-03T10:00', '2023-12-30T10:00', '2023-09-20T20:00', '2023-06-10T10:00',
      '2023-03-31T12:00', '2023-02-28T18:00', '2023-01-15T06:00', '2023-01-02T12:00', '2023-01-01T00:15', '2022-12-01T08:00', '2022-11-15T10:00'],
  },
  { name: 'monthly 4', policy: { monthly: 4 }, keep: ['2024-03-13T12:00', '2024-02-29T23:00', '2024-01-03T10:00', '2023-12-30T10:00'] },
  {
    name: 'monthly -1',
    policy: { monthly: -1 },
    keep: ['2024-03-13T12:00', '2024-02-29T23:00', '2024-01-03T10:00', '2023-12-30T10:00', '2023-09-20T20:00', '2023-06-10T10:00',
      '2023-03-31T12:00', '2023-02-28T18:00', '2023-01-15T06:00', '2022-12-31T23:30', '2022-11-15T10:00'],
  },
  { name: 'yearly 3', policy: { yearly: 3 }, keep: ['2024-03-13T12:00', '2023-12-30T10:00', '2022-12-31T23:30'] },
  { name: 'yearly 10 keeps no extra oldest snapshot', policy: { yearly: 10 }, keep: ['2024-03-13T12:00', '2023-12-30T10:00', '2022-12-31T23:30'] },
  {
    name: 'daily 3, weekly 2, monthly 2, yearly 2',
    policy: { daily: 3, weekly: 2, monthly: 2, yearly: 2 },
    keep: ['2024-03-13T12:00', '2024-03-12T15:20', '2024-03-11T13:45', '2024-03-10T23:59', '2024-02-29T23:00', '2023-12-30T10:00'],
  },
  { name: 'last 2 and hourly 3', policy: { last: 2, hourly: 3 }, keep: ['2024-03-13T12:00', '2024-03-13T08:10', '2024-03-12T15:20'] },
  { name: 'within 13h', policy: { within: '13h' }, keep: ['2024-03-13T12:00', '2024-03-13T08:10', '2024-03-13T08:00'] },
  { name: 'within 28h', policy: { within: '28h' }, keep: ALL.slice(0, 5) },
  { name: 'within 2d', policy: { within: '2d' }, keep: ALL.slice(0, 8) },
  { name: 'within 1d23h: a snapshot exactly at the cutoff is not kept', policy: { within: '1d23h' }, keep: ALL.slice(0, 7) },
  { name: 'within 1m (across February 29)', policy: { within: '1m' }, keep: ALL.slice(0, 21) },
  { name: 'within 1y', policy: { within: '1y' }, keep: ALL.slice(0, 26) },
  { name: 'within 1y2m3d4h', policy: { within: '1y2m3d4h' }, keep: ALL.slice(0, 28) },
  {
    name: 'within 1d and weekly 3',
    policy: { within: '1d', weekly: 3 },
    keep: ['2024-03-13T12:00', '2024-03-13T08:10', '2024-03-13T08:00', '2024-03-12T15:20', '2024-03-12T15:00', '2024-03-10T23:59', '2024-03-01T01:00'],
  },
];

describe('applyPolicy', () => {
  it.each(TABLE)('$name', ({ policy, keep }) => {
    const r = applyPolicy(SNAPS, policy);
    expect(r.keep.map((k) => k.snapshot.id)).toEqual(keep);
    expect(r.remove.map((s) => s.id)).toEqual(ALL.filter((t) => !keep.includes(t)));
  });

  it.each(TABLE)('keeps all of its own keep set: $name', ({ policy, keep }) => {
    expect(kept(policy, keep.map(snap))).toEqual(keep);
  });

  it('gives every reason, within first, then the bucket rules in order', () => {
    const r = applyPolicy(SNAPS, { within: '1d', weekly: 3, last: 1 });
    expect(r.keep.map((k) => [k.snapshot.id, k.reasons])).toEqual([
      ['2024-03-13T12:00', ['within 1d', 'last snapshot', 'weekly snapshot']],
      ['2024-03-13T08:10', ['within 1d']],
      ['2024-03-13T08:00', ['within 1d']],
      ['2024-03-12T15:20', ['within 1d']],
      ['2024-03-12T15:00', ['within 1d']],
      ['2024-03-10T23:59', ['weekly snapshot']],
      ['2024-03-01T01:00', ['weekly snapshot']],
    ]);
    const all = applyPolicy(SNAPS, { daily: 3, monthly: 2, yearly: 2, hourly: 1 }).keep[0]!;
    expect(all.reasons).toEqual(['hourly snapshot', 'daily snapshot', 'monthly snapshot', 'yearly snapshot']);
  });

  it('measures within from the newest snapshot, on the calendar (31 March minus a month is 3 March)', () => {
    const list = ['2023-03-31T00:00', '2023-03-03T00:01', '2023-03-02T23:59', '2023-02-28T12:00'].map(snap);
    expect(kept({ within: '1m' }, list)).toEqual(['2023-03-31T00:00', '2023-03-03T00:01']);
    const leap = ['2024-03-31T00:00', '2024-03-02T00:01', '2024-03-01T23:59'].map(snap);
    expect(kept({ within: '1m' }, leap)).toEqual(['2024-03-31T00:00', '2024-03-02T00:01']);
  });

  it('orders equal times by id, whatever the input order', () => {
    const t = new Date('2024-01-01T00:00:00Z');
    const list = [{ id: 'b', time: t }, { id: 'c', time: new Date('2023-01-01T00:00:00Z') }, { id: 'a', time: t }];
    expect(kept({ last: 1 }, list)).toEqual(['a']);
    expect(kept({ last: 1 }, [...list].reverse())).toEqual(['a']);
    expect(applyPolicy(list, { last: 1 }).remove.map((s) => s.id)).toEqual(['b', 'c']);
  });

  it('returns the callers\' own objects', () => {
    const r = applyPolicy(SNAPS, { last: 1 });
    expect(SNAPS).toContain(r.keep[0]!.snapshot);
    expect(SNAPS).toContain(r.remove[0]);
  });

  it('keeps and removes nothing of no snapshots', () => {
    expect(applyPolicy([], { last: 3 })).toEqual({ keep: [], remove: [] });
  });

  it('refuses a policy with no rule instead of removing everything', () => {
    expect(errorCode(() => applyPolicy(SNAPS, {}))).toBe('forget.empty-policy');
    expect(errorCode(() => applyPolicy([], {}))).toBe('forget.empty-policy');
    expect(errorCode(() => applyPolicy(SNAPS, { last: 0, daily: 0 }))).toBe('forget.empty-policy');
    expect(errorCode(() => checkPolicy({}))).toBe('forget.empty-policy');
  });

  it('refuses counts that are not whole numbers of at least -1', () => {
    for (const policy of [{ last: -2 }, { daily: 1.5 }, { yearly: Number.NaN }, { weekly: Infinity }]) {
      expect(errorCode(() => applyPolicy(SNAPS, policy)), JSON.stringify(policy)).toBe('forget.bad-count');
    }
    expect(errorCode(() => applyPolicy(SNAPS, { within: '1w' }))).toBe('forget.bad-duration');
    expect(errorCode(() => checkPolicy({ within: '7d', monthly: -1 }))).toBe('no error');
  });

  it('refuses an invalid snapshot time', () => {
    expect(errorCode(() => applyPolicy([{ id: 'x', time: new Date(Number.NaN) }], { last: 1 }))).toBe('forget.bad-time');
  });

  describe('buckets are UTC whatever the local time zone', () => {
    const saved = process.env.TZ;
    afterEach(() => {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    });

    // In New York, 2024-03-11T00:01Z is still 10 March; in Auckland, 2022-12-31T23:30Z is already 2023.
    it.each(['America/New_York', 'Pacific/Auckland', 'UTC'])('%s', (tz) => {
      process.env.TZ = tz;
      expect(kept({ daily: 5 })).toEqual(TABLE.find((r) => r.name === 'daily 5')!.keep);
      expect(kept({ yearly: 3 })).toEqual(TABLE.find((r) => r.name === 'yearly 3')!.keep);
    });
  });
});

describe('parseDuration', () => {
  it.each([
    ['2y5m7d3h', { years: 2, months: 5, days: 7, hours: 3 }],
    ['36h', { years: 0, months: 0, days: 0, hours: 36 }],
    ['1m', { years: 0, months: 1, days: 0, hours: 0 }],
    ['10y', { years: 10, months: 0, days: 0, hours: 0 }],
    ['0y07d', { years: 0, months: 0, days: 7, hours: 0 }],
  ])('%s', (text, want) => {
    expect(parseDuration(text)).toEqual(want);
  });

  it.each(['', '0d', '0y0m0d0h', '1w', '1d2y', '1y1y', '1.5d', '-1d', '+1d', ' 1d', '1d ', '1D', 'd', '7', '2 d', '99999999999999999999y'])(
    'refuses %j',
    (text) => {
      let err: unknown;
      try {
        parseDuration(text);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ name: 'FerryError', code: 'forget.bad-duration', retryable: false, details: { input: text } });
      expect((err as Error).message).toContain('such as 2y5m7d3h');
    },
  );

  it('formats what it parses back to the same duration', () => {
    for (const text of ['2y5m7d3h', '36h', '1m', '1y2d']) expect(formatDuration(parseDuration(text))).toBe(text);
    expect(formatDuration(parseDuration('0y07d'))).toBe('7d');
  });
});

describe('groupSnapshots', () => {
  const s = (id: string, host: string, source: string, paths: string[]) => ({ id, host, source, paths });

  it('groups by host, source and the set of paths, sorted', () => {
    const groups = groupSnapshots([
      s('1', 'web', 'web', ['/srv', '/etc']),
      s('2', 'db', 'db', ['/var/lib']),
      s('3', 'web', 'web', ['/etc', '/srv']),
      s('4', 'web', 'web', ['/etc']),
      s('5', 'web', 'site-blog', ['/srv']),
      s('6', 'db', 'db', ['/var/lib']),
      s('7', 'a b', 'x', ['/']),
    ]);
    expect(groups.map((g) => [g.host, g.source, g.paths, g.snapshots.map((x) => x.id)])).toEqual([
      ['a b', 'x', ['/'], ['7']],
      ['db', 'db', ['/var/lib'], ['2', '6']],
      ['web', 'site-blog', ['/srv'], ['5']],
      ['web', 'web', ['/etc'], ['4']],
      ['web', 'web', ['/etc', '/srv'], ['1', '3']],
    ]);
  });

  it('lets the policy apply within each group', () => {
    const day = (d: number) => new Date(Date.UTC(2024, 0, d));
    const list = [
      { ...s('a1', 'h', 'h', ['/a']), time: day(1) },
      { ...s('a2', 'h', 'h', ['/a']), time: day(2) },
      { ...s('b1', 'h', 'h', ['/b']), time: day(3) },
      { ...s('a3', 'h', 'h', ['/a']), time: day(4) },
    ];
    expect(kept({ last: 1 }, list)).toEqual(['a3']);
    expect(groupSnapshots(list).map((g) => kept({ last: 1 }, g.snapshots))).toEqual([['a3'], ['b1']]);
  });
});
