/** A CLI command: parses its own arguments, returns an exit code. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Session } from './session.ts';
import type { ExitCode } from './exit-codes.ts';
import { UsageError } from './usage-error.ts';

export interface Command {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  run(args: string[], session: Session): Promise<ExitCode>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs that turns its errors into usage errors naming the command. */
export function parseCommandArgs<O extends Options>(cmd: string, args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${cmd}: ${(e as Error).message}`);
  }
}
