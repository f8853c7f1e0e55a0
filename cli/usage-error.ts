import { FerryError } from '../protocol/errors.ts';

/** A bad command line or configuration; exits 2. */
export class UsageError extends FerryError {
  override readonly name = 'UsageError';
  constructor(message: string) {
    super('cli.usage', message);
  }
}
