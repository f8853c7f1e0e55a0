/**
 * Runs a program on this worker (rsync, pg_dump, mysqldump) for a pull:
 * standard error kept (its first 64 KiB, for messages), standard output
 * either collected (its first 256 KiB) or piped into `stdout`. A program
 * that is not installed is `source.missing-tool`, naming the Debian
 * package that brings it; the same words serve the preflight's check.
 */
import { spawn } from 'node:child_process';
import { SourceError, SourceErrorCode } from './source-errors.ts';

const PACKAGE_OF: Readonly<Record<string, string>> = { ssh: 'openssh-client', pg_dump: 'postgresql-client', mysqldump: 'mariadb-client' };

/** What to tell a person whose worker lacks `tool`. */
export function missingToolMessage(tool: string): string {
  return `${tool} is not installed on this worker (Debian: apt-get install ${PACKAGE_OF[tool] ?? tool})`;
}

export interface ToolRun {
  readonly code: number;
  /** Empty when the output was piped elsewhere. */
  readonly stdout: string;
  readonly stderr: string;
}

export function runTool(file: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; stdout?: NodeJS.WritableStream; signal?: AbortSignal } = {}): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(opts.env ? { env: opts.env } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
    let stdout = '';
    let stderr = '';
    if (opts.stdout) child.stdout.pipe(opts.stdout);
    else {
      child.stdout.on('data', (d: Buffer) => {
        if (stdout.length < 256 * 1024) stdout += d.toString();
      });
    }
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += d.toString();
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT' ? new SourceError(SourceErrorCode.MissingTool, missingToolMessage(file), { cause: err }) : err);
    });
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
