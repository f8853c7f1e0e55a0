/**
 * Process exit codes, for systemd units and cron jobs (documented in README).
 *   0  success
 *   1  failed: nothing or not everything was done (wrong passphrase, corrupt data, I/O error…)
 *   2  usage error: bad command line or configuration; nothing was touched
 *   3  finished with warnings: e.g. a backup completed but some files could not be read
 */
export const ExitCode = { Ok: 0, Failed: 1, Usage: 2, Warnings: 3 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
