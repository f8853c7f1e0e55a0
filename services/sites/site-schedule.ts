/**
 * A site's backup cadence (seed 001's `site_scan_interval_hours`) as the
 * cron expression the coordinator's scheduler fires. Every N hours where N
 * divides a day, or every N/24 days; the minute and hour come from the
 * site's uuid, so a thousand sites on the same cadence do not all start at
 * once.
 */
import { createHash } from 'node:crypto';
import { FerryError } from '../../protocol/errors.ts';

export const DEFAULT_SCAN_INTERVAL_HOURS = 24;

export function siteCron(uuid: string, everyHours: number): string {
  const h = createHash('sha256').update(uuid).digest();
  const minute = h[0]! % 60;
  if (Number.isInteger(everyHours) && everyHours >= 1 && everyHours <= 24 && 24 % everyHours === 0) {
    // The first run in each day lands at a spread hour below the interval.
    const first = h[1]! % everyHours;
    const hours = Array.from({ length: 24 / everyHours }, (_, i) => first + i * everyHours);
    return `${minute} ${hours.join(',')} * * *`;
  }
  if (Number.isInteger(everyHours) && everyHours % 24 === 0 && everyHours / 24 >= 2 && everyHours / 24 <= 28) {
    return `${minute} ${h[1]! % 24} */${everyHours / 24} * *`;
  }
  throw new FerryError('site.bad-interval', `a site's interval is hours that divide a day (1, 2, 3, 4, 6, 8, 12, 24) or whole days up to 28 (48, 72, …, 672), not ${everyHours}; 0 turns the schedule off`);
}

/** The schedule that backs a site up: one per site, named after it. */
export function siteScheduleName(siteName: string): string {
  return `site-${siteName}`;
}
