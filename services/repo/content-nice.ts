/**
 * How far below the rest of the process the native engine's content tasks
 * run (native/content/src/task_nice.h; native-content.ts has the
 * measurements). Apart from content-engine.ts so that the CLI's config can
 * read it without loading an engine.
 */
import { FerryError } from '../../protocol/errors.ts';

export const ContentNiceErrorCode = {
  BadLevels: 'content.bad-nice',
} as const;

/**
 * Nice levels below the rest of the process at which the native engine's
 * tasks run, unless FERRY_CONTENT_NICE says otherwise (native-content.ts
 * says why).
 */
export const DEFAULT_CONTENT_NICE = 10;

/** Reads FERRY_CONTENT_NICE: an integer from 0 (threads left alone) to 19; throws FerryError `content.bad-nice` otherwise. */
export function contentNiceLevels(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_CONTENT_NICE;
  const levels = Number(value);
  if (/^\d+$/.test(value) && levels <= 19) return levels;
  throw new FerryError(ContentNiceErrorCode.BadLevels, `FERRY_CONTENT_NICE is "${value}"; use a whole number from 0 (no change) to 19`, { details: { value } });
}
