/**
 * Error codes raised by the actor runtime. All are FerryErrors, so they keep
 * their code, retryability and details across the wire (job.failed carries
 * them as WireError).
 */
import { FerryError, type ErrorDetails } from '../../protocol/errors.ts';

export const RuntimeErrorCode = {
  /** A checkpoint changed since it was loaded; reload and redo. Retryable. */
  CheckpointConflict: 'checkpoint.conflict',
  /** A job state change the state machine does not allow, or a change to a finished job. */
  JobBadTransition: 'job.bad-transition',
  JobNotFound: 'job.not-found',
  JobExists: 'job.exists',
  /** A record in KV that does not decode to the expected shape. */
  KvCorrupt: 'kv.corrupt',
  /** A lease was taken over or expired before it could be renewed. */
  LeaseLost: 'lease.lost',
  /** A message was dead-lettered because its last allowed delivery failed. */
  MaxDeliveries: 'actor.max-deliveries',
  /** A handler gave up on a message with a term outcome. */
  Terminated: 'actor.terminated',
  /** A handler threw something that is not a FerryError. */
  HandlerFailed: 'actor.handler-failed',
} as const;
export type RuntimeErrorCode = (typeof RuntimeErrorCode)[keyof typeof RuntimeErrorCode];

export class RuntimeError extends FerryError {
  override readonly name: string = 'RuntimeError';
  constructor(code: RuntimeErrorCode, message: string, opts: { retryable?: boolean; details?: ErrorDetails; cause?: unknown } = {}) {
    super(code, message, opts);
  }
}

export { isWrongRevision } from '../../protocol/kv-revision.ts';
