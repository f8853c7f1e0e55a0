/** A site's interval as cron: spread by uuid, within the interval, refused when it cannot be cron. */
import { describe, expect, it } from 'vitest';
import { nextRun } from '../../actors/schedules.ts';
import { siteCron } from './site-schedule.ts';

describe('siteCron', () => {
  it('runs every N hours of a day, or every N/24 days, from a time the uuid picks', () => {
    expect(siteCron('a', 24)).toMatch(/^\d{1,2} \d{1,2} \* \* \*$/);
    expect(siteCron('a', 12)).toMatch(/^\d{1,2} (\d{1,2}),(\d{1,2}) \* \* \*$/);
    expect(siteCron('a', 1).split(' ')[1]!.split(',')).toHaveLength(24);
    expect(siteCron('a', 72)).toMatch(/^\d{1,2} \d{1,2} \*\/3 \* \*$/);
    // Runs are the interval apart: consecutive firings of every-8-hours are 8 h apart.
    const first = nextRun(siteCron('b', 8), new Date('2026-12-01T00:00:00Z'))!;
    const second = nextRun(siteCron('b', 8), first)!;
    expect(second.getTime() - first.getTime()).toBe(8 * 3600_000);
    // Different sites on one cadence start at different times (most of the time; these two do).
    expect(new Set(['s1', 's2', 's3', 's4'].map((u) => siteCron(u, 24))).size).toBeGreaterThan(1);
  });

  it('refuses intervals cron cannot keep, saying which it can', () => {
    for (const bad of [5, 7, 25, 36, 24 * 29, 1.5]) expect(() => siteCron('a', bad)).toThrow(/hours that divide a day/);
  });
});
