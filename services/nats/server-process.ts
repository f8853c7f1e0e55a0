/**
 * One nats-server child process: find the binary, spawn it on a config file,
 * collect its log lines, wait until it serves (and JetStream answers), stop it.
 * Used by EmbeddedNats and by the test fixtures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { reapOnExit, type ReapOptions } from './child-reaper.ts';
import { LogTail } from './log-tail.ts';
import { NatsError, NatsErrorCode } from './errors.ts';

/** Where Debian's package puts the binary (not always on a user's PATH). */
export const DEBIAN_NATS_SERVER = '/usr/sbin/nats-server';
const TAIL_LINES = 40;
/** What nats-server (2.x) logs once it accepts clients. */
const READY_LINE = 'Server is ready';
/** A promise that never settles: a race arm that is switched off. */
const NEVER = new Promise<never>(() => {});

/** The first executable `nats-server` on PATH, else the first executable fallback. */
export function findNatsServer(opts: { pathEnv?: string; fallbacks?: readonly string[] } = {}): string | undefined {
  const dirs = (opts.pathEnv ?? process.env.PATH ?? '').split(delimiter).filter((d) => d !== '');
  const candidates = [...dirs.map((d) => join(d, 'nats-server')), ...(opts.fallbacks ?? [DEBIAN_NATS_SERVER])];
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

export interface SpawnOptions {
  readonly binary: string;
  readonly configPath: string;
  /** Own process group, so a terminal's Ctrl-C reaches only us and we decide. */
  readonly detached?: boolean;
  /** Every log line the server writes (it logs to stderr). */
  readonly onLine?: (line: string) => void;
  /** What happens to the child when this process ends. */
  readonly reap: ReapOptions;
  /** Let this process exit while the server runs (the reaper still stops it). */
  readonly unref?: boolean;
  /** Environment for the server (config `$VARIABLES` resolve from it). Default: ours. */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * The log file the server's config names (`log_file`), which must exist:
   * its lines are followed from there. Required by stopInBackground().
   */
  readonly logFile?: string;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class ServerProcess {
  readonly pid: number;
  /** Resolves when the process has exited, for whatever reason. */
  readonly exited: Promise<ExitInfo>;
  /** Resolves when the server logs that it is ready for clients (never, if it exits first). */
  readonly readyLogged: Promise<void>;
  readonly #child: ChildProcess;
  readonly #tail: string[] = [];
  readonly #untrack: () => void;
  readonly #logFile: LogTail | undefined;
  #stopping: Promise<void> | undefined;

  private constructor(child: ChildProcess, pid: number, opts: SpawnOptions) {
    this.#child = child;
    this.pid = pid;
    let ready = () => {};
    this.readyLogged = new Promise<void>((resolve) => (ready = resolve));
    const onLine = (line: string): void => {
      this.#tail.push(line);
      if (this.#tail.length > TAIL_LINES) this.#tail.shift();
      if (line.endsWith(READY_LINE)) ready();
      opts.onLine?.(line);
    };
    this.#logFile = opts.logFile === undefined ? undefined : new LogTail(opts.logFile, onLine);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        // Its last lines (why it exited) may not have raised a change event yet.
        this.#logFile?.drain();
        this.#logFile?.close();
        resolve({ code, signal });
      }),
    );
    // What a server writes before it opens its log file (a bad config) still comes through the pipes.
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
      if (opts.unref === true) (stream as unknown as { unref?: () => void }).unref?.();
    }
    if (opts.unref === true) child.unref();
    this.#untrack = reapOnExit(child, opts.reap);
  }

  /** Spawns `binary -c configPath`; throws `nats.no-server` if it cannot be executed. */
  static async spawn(opts: SpawnOptions): Promise<ServerProcess> {
    const child = spawn(opts.binary, ['-c', opts.configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: opts.detached ?? false,
      env: opts.env ?? process.env,
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid ?? -1));
    }).catch((err: unknown) => {
      throw new NatsError(NatsErrorCode.NoServer, `cannot run ${opts.binary}: ${(err as Error).message}; run deploy/setup.sh or install nats-server`, {
        details: { binary: opts.binary },
        cause: err,
      });
    });
    return new ServerProcess(child, pid, opts);
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** The last log lines, for error messages. */
  tail(): string {
    return this.#tail.join('\n');
  }

  /** True when the server failed because its port was taken (the caller may retry on another). */
  addressInUse(): boolean {
    return this.#tail.some((l) => /address already in use/i.test(l));
  }

  /** SIGTERM (JetStream flushes), SIGKILL after `timeoutMs`; resolves once exited. Safe to call twice. */
  stop(timeoutMs = 10_000): Promise<void> {
    this.#stopping ??= this.#terminate('SIGTERM', timeoutMs);
    return this.#stopping;
  }

  /**
   * SIGTERM, without waiting for the exit: the server finishes its shutdown
   * on its own, even after this process has exited. Only for a server that
   * logs to a file: one that logs to our pipes would die of SIGPIPE at its
   * next line once we are gone. Whoever starts a server on the same store
   * next must wait for this pid to exit.
   */
  stopInBackground(): void {
    if (this.#logFile === undefined) throw new Error('stopInBackground needs a server that logs to a file (SpawnOptions.logFile)');
    this.#untrack();
    if (this.running) this.#child.kill('SIGTERM');
    this.#logFile.close();
  }

  /** SIGKILL, like a crash; resolves once exited. */
  kill(): Promise<void> {
    this.#stopping ??= this.#terminate('SIGKILL', 0);
    if (this.running) this.#child.kill('SIGKILL');
    return this.#stopping;
  }

  async #terminate(signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
    this.#untrack();
    if (this.running) this.#child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    if (signal !== 'SIGKILL') {
      timer = setTimeout(() => {
        if (this.running) this.#child.kill('SIGKILL');
      }, timeoutMs);
    }
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** What the server said about itself in INFO once it was ready. */
export interface ServerIdentity {
  readonly serverId: string;
  readonly serverName: string;
}

/**
 * Polls `url` until a client connects and, with `jetstream`, account info
 * answers (in a cluster: once a meta leader exists). Throws
 * `nats.start-failed` with the server's last log lines if the process exits
 * or `timeoutMs` passes.
 */
export async function waitForServer(url: string, proc: ServerProcess, opts: { jetstream: boolean; timeoutMs?: number }): Promise<ServerIdentity> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let last: unknown;
  let wake: Promise<unknown> = proc.readyLogged;
  while (Date.now() < deadline) {
    if (!proc.running) {
      const exit = await proc.exited;
      throw new NatsError(NatsErrorCode.StartFailed, `nats-server exited during start (code ${exit.code}, signal ${exit.signal}):\n${proc.tail()}`, {
        details: { url, addressInUse: proc.addressInUse() },
      });
    }
    try {
      const nc = await connect({ servers: url, timeout: 1000, reconnect: false });
      try {
        if (opts.jetstream) await (await jetstreamManager(nc, { timeout: 2000 })).getAccountInfo();
        return { serverId: nc.info?.server_id ?? '', serverName: nc.info?.server_name ?? '' };
      } finally {
        await nc.close();
      }
    } catch (err) {
      last = err;
    }
    // Poll, but try again at once when the server says it is ready: a
    // fixed poll interval alone cost tens of ms on every start.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, 50))), wake]);
    clearTimeout(timer);
    wake = NEVER;
  }
  throw new NatsError(NatsErrorCode.StartFailed, `nats-server at ${url} not ready in time: ${(last as Error | undefined)?.message}\n${proc.tail()}`, {
    details: { url },
    cause: last,
  });
}
