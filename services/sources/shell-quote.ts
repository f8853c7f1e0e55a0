/**
 * One argument for a POSIX shell command line on a remote host (ssh runs
 * every command through the user's shell): single quotes, with each single
 * quote written as '\''. Any byte but NUL comes through as itself.
 */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new RangeError('a shell argument cannot hold a NUL byte');
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
