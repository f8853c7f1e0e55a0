/** The errors of `ferry sync` (sync.ts), with codes callers test instead of messages. */
import { FerryError, type ErrorDetails } from '../../protocol/errors.ts';

export const SyncErrorCode = {
  /** The destination holds a `config` other than the source's: it is another repository. Nothing was written. */
  OtherRepository: 'sync.other-repository',
  /** The destination has no `config` but holds objects that a sync of this repository would not have left there. Nothing was written. */
  NotEmpty: 'sync.not-empty',
  /** A source object's bytes do not hash to its name (the source copy is damaged); nothing was written for it. */
  CorruptSource: 'sync.corrupt-source',
  /** The destination holds an object of the same name but another size; it was left as it is. */
  SizeMismatch: 'sync.size-mismatch',
  /** After a save, the destination reports another size than was sent. */
  BadCopy: 'sync.bad-copy',
  /** Several objects of one phase failed with the codes above; `problems` holds each one's error. */
  ObjectsFailed: 'sync.objects-failed',
} as const;
export type SyncErrorCode = (typeof SyncErrorCode)[keyof typeof SyncErrorCode];

export class SyncError extends FerryError {
  override readonly name = 'SyncError';
  /** For `sync.objects-failed`: the error of each object; empty otherwise. */
  readonly problems: readonly SyncError[];
  constructor(code: SyncErrorCode, message: string, opts: { details?: ErrorDetails; cause?: unknown; problems?: readonly SyncError[] } = {}) {
    // A retry sends the same bytes to the same place and fails the same way.
    super(code, message, { details: opts.details, cause: opts.cause, retryable: false });
    this.problems = opts.problems ?? [];
  }
}

/** How many problems a `sync.objects-failed` message names before it only counts the rest. */
const NAMED_PROBLEMS = 5;

/** Nothing when `problems` is empty, the problem itself when there is one, else one error carrying them all. */
export function phaseFailure(phase: string, problems: readonly SyncError[]): SyncError | undefined {
  if (problems.length <= 1) return problems[0];
  const named = problems.slice(0, NAMED_PROBLEMS).map((p) => p.message);
  const more = problems.length > NAMED_PROBLEMS ? `; and ${problems.length - NAMED_PROBLEMS} more` : '';
  return new SyncError(SyncErrorCode.ObjectsFailed, `${problems.length} objects of the ${phase} phase were not copied: ${named.join('; ')}${more}`, {
    details: { phase, count: problems.length },
    problems,
  });
}
