/**
 * Runs the real `bin/ferry` as a child process for end-to-end tests, with a
 * private state directory, a fast KDF and a known passphrase.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { embeddedStopped } from '../services/nats/embedded-server.ts';

export const FERRY = resolve(import.meta.dirname, '..', 'bin', 'ferry');

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliEnv {
  readonly dir: string;
  readonly repo: string;
  readonly env: NodeJS.ProcessEnv;
  /** Runs `bin/ferry` of this checkout, or `opts.bin` (another copy of it). */
  run(args: string[], opts?: { env?: NodeJS.ProcessEnv; cwd?: string; uid?: number; gid?: number; bin?: string }): Promise<RunResult>;
  json<T = unknown>(args: string[]): Promise<T>;
  cleanup(): Promise<void>;
}

export async function makeCliEnv(prefix = 'ferry-e2e-'): Promise<CliEnv> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const repo = join(dir, 'repo');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    FERRY_REPO: repo,
    FERRY_PASSWORD: 'correct horse battery staple',
    FERRY_STATE_DIR: join(dir, 'state'),
    FERRY_LOG_FORMAT: 'json',
    FERRY_LOG_LEVEL: 'warn',
    FERRY_HOST: 'testhost',
  };
  const run: CliEnv['run'] = (args, opts = {}) =>
    new Promise((res, rej) => {
      const child = spawn(opts.bin ?? FERRY, args, {
        env: { ...env, ...opts.env },
        cwd: opts.cwd ?? dir,
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid ?? opts.uid } : {}),
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', rej);
      child.on('close', (code) => res({ code: code ?? -1, stdout, stderr }));
    });
  return {
    dir,
    repo,
    env,
    run,
    async json<T>(args: string[]): Promise<T> {
      const r = await run([...args, '--json']);
      if (r.code !== 0 && r.code !== 3) throw new Error(`ferry ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    },
    // The last command's nats-server may still be stopping, and writing its store.
    cleanup: async () => {
      await embeddedStopped(join(dir, 'state'));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
