/**
 * Runs real `ferry serve` processes for system tests: each serve is a child
 * process that the test can SIGKILL and start again, all sharing one NATS
 * (a fixture server or cluster) and one repository.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { actorsAlive, type ActorKind } from '../actors/process.ts';
import { FERRY, type CliEnv } from './cli-harness.ts';

export interface ServeProcess {
  readonly child: ChildProcess;
  output(): string;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

export function startServe(t: CliEnv, natsUrl: string, actors: readonly ActorKind[], env: NodeJS.ProcessEnv = {}): ServeProcess {
  const child = spawn(FERRY, ['serve', '--actors', actors.join(',')], {
    env: { ...t.env, NATS_URL: natsUrl, FERRY_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    output: () => out,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Waits until some process pulls on every named durable (serve is up). */
export async function waitForActors(natsUrl: string, kinds: readonly ActorKind[], timeoutMs = 30_000): Promise<void> {
  const nc = await connect({ servers: natsUrl.split(',') });
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await actorsAlive(nc, kinds).catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`actors ${kinds.join(',')} did not start within ${timeoutMs} ms`);
  } finally {
    await nc.close();
  }
}

/**
 * Resolves once the local repository at `repoDir` holds at least `count`
 * data packs: a job is under way and part of it is stored. Tests that kill
 * something mid-job wait for this rather than for a fixed time, which a
 * faster backup can outrun.
 */
export async function waitForStoredPacks(repoDir: string, count: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const names = await readdir(join(repoDir, 'data'), { recursive: true }).catch(() => [] as string[]);
    if (names.filter((n) => /^[0-9a-f]{2}\/[0-9a-f]{64}$/.test(n)).length >= count) return;
    if (Date.now() > deadline) throw new Error(`${repoDir} did not get ${count} data pack(s) within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
