/**
 * Ferry's embedded default when NATS_URL is unset: a private `nats-server`
 * child process with JetStream on 127.0.0.1, its data under `<stateDir>/nats`.
 *
 * Contract:
 * - `EmbeddedNats.start()` resolves once clients connect and JetStream
 *   answers. It writes `<stateDir>/nats/nats-server.conf` and records
 *   `{url, pid, serverId}` in `<stateDir>/nats/embedded.json` so other Ferry
 *   commands on this machine can find the server (`findRunningEmbedded`).
 * - Only one server per state directory: if a live one is recorded, start()
 *   throws `nats.embedded-running` (use its URL instead). A missing binary
 *   throws `nats.no-server`.
 * - The server runs in its own process group and never keeps Ferry alive.
 *   It stops on close() (safe twice), when Ferry exits, and on SIGINT/SIGTERM
 *   (see child-reaper.ts: a caller's own signal handlers keep working and get
 *   `signalGraceMs` to close() first).
 * - stopInBackground() signals the server and returns at once; the next
 *   start on the same state directory waits for it to exit.
 * - The server logs to `<stateDir>/nats/nats-server.log` (this run's only),
 *   not to Ferry's pipes (only what it says before opening that file does);
 *   its lines also go to `log` at debug level.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { NatsError, NatsErrorCode } from './errors.ts';
import { freePorts, renderServerConfig } from './server-config.ts';
import { findNatsServer, ServerProcess, waitForServer } from './server-process.ts';

export interface EmbeddedNatsOptions {
  readonly stateDir: string;
  readonly log: Logger;
  /** nats-server binary. Default: `nats-server` on PATH, then /usr/sbin/nats-server. */
  readonly binary?: string;
  /** Time a caller's own SIGINT/SIGTERM handler gets to close() before the server is stopped anyway. Default 30 s. */
  readonly signalGraceMs?: number;
  /** Readiness deadline. Default 20 s. */
  readonly startTimeoutMs?: number;
}

/** The content of `<stateDir>/nats/embedded.json`. */
export interface EmbeddedRecord {
  readonly url: string;
  readonly pid: number;
  /** INFO server_id, to tell our server from another process that reused the pid or port. */
  readonly serverId: string;
  readonly startedAt: string;
}

export function embeddedPaths(stateDir: string): { readonly dir: string; readonly config: string; readonly record: string; readonly log: string; readonly stopping: string } {
  const dir = join(stateDir, 'nats');
  return { dir, config: join(dir, 'nats-server.conf'), record: join(dir, 'embedded.json'), log: join(dir, 'nats-server.log'), stopping: join(dir, 'stopping.json') };
}

const HOST = '127.0.0.1';
const START_ATTEMPTS = 3;
const LOG_PREFIX = /^\[\d+\] \d{4}\/\d\d\/\d\d \S+ /;

export class EmbeddedNats {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** `<stateDir>/nats`: config, record and JetStream store. */
  readonly dir: string;
  readonly #proc: ServerProcess;
  readonly #recordPath: string;
  readonly #stoppingPath: string;
  readonly #log: Logger;
  #closing: Promise<void> | undefined;

  private constructor(proc: ServerProcess, url: string, port: number, paths: ReturnType<typeof embeddedPaths>, log: Logger) {
    this.#proc = proc;
    this.url = url;
    this.port = port;
    this.pid = proc.pid;
    this.dir = paths.dir;
    this.#recordPath = paths.record;
    this.#stoppingPath = paths.stopping;
    this.#log = log;
    void proc.exited.then((exit) => {
      if (this.#closing === undefined) log.error({ code: exit.code, signal: exit.signal, tail: proc.tail() }, 'embedded nats-server exited unexpectedly');
    });
  }

  static async start(opts: EmbeddedNatsOptions): Promise<EmbeddedNats> {
    const binary = opts.binary ?? findNatsServer();
    if (binary === undefined) {
      throw new NatsError(NatsErrorCode.NoServer, 'nats-server not found on PATH or at /usr/sbin/nats-server; run deploy/setup.sh or install nats-server (Debian: apt-get install nats-server), or set NATS_URL');
    }
    const paths = embeddedPaths(opts.stateDir);
    const running = await findRunningEmbedded(opts.stateDir);
    if (running !== undefined) {
      throw new NatsError(NatsErrorCode.EmbeddedRunning, `an embedded nats-server for ${opts.stateDir} is already running at ${running}; connect to it instead`, {
        details: { url: running, stateDir: opts.stateDir },
      });
    }
    await mkdir(paths.dir, { recursive: true, mode: 0o700 });
    await waitForStopped(paths.stopping, opts.startTimeoutMs ?? 20_000);
    const log = opts.log.child({ component: 'nats-server' });
    for (let attempt = 1; ; attempt++) {
      const [port] = await freePorts(1, HOST);
      if (port === undefined) throw new Error('unreachable: freePorts(1) returned nothing');
      const config = renderServerConfig({ serverName: 'ferry-embedded', host: HOST, port, storeDir: paths.dir, logFile: paths.log });
      await writeFile(paths.config, config, { mode: 0o600 });
      await writeFile(paths.log, '', { mode: 0o600 }); // this run's log only; it exists before the tail opens it
      const proc = await ServerProcess.spawn({
        binary,
        configPath: paths.config,
        detached: true,
        unref: true,
        reap: { signal: 'SIGTERM', graceMs: opts.signalGraceMs ?? 30_000 },
        onLine: (line) => log.debug(line.replace(LOG_PREFIX, '')),
        logFile: paths.log,
      });
      const url = `nats://${HOST}:${port}`;
      try {
        const id = await waitForServer(url, proc, { jetstream: true, timeoutMs: opts.startTimeoutMs ?? 20_000 });
        const record: EmbeddedRecord = { url, pid: proc.pid, serverId: id.serverId, startedAt: new Date().toISOString() };
        const tmp = `${paths.record}.${randomUUID()}.tmp`;
        await writeFile(tmp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
        await rename(tmp, paths.record);
        opts.log.info({ url, pid: proc.pid, dir: paths.dir }, 'embedded nats-server started');
        return new EmbeddedNats(proc, url, port, paths, opts.log);
      } catch (err) {
        await proc.stop(2000);
        if (proc.addressInUse() && attempt < START_ATTEMPTS) continue;
        throw err;
      }
    }
  }

  /** Stops the server (SIGTERM, then SIGKILL after 10 s) and removes the record. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#proc.stop(10_000);
      const record = await readRecord(this.#recordPath);
      if (record?.pid === this.pid) await rm(this.#recordPath, { force: true });
      this.#log.info({ url: this.url }, 'embedded nats-server stopped');
    })();
    return this.#closing;
  }

  /**
   * Signals the server to stop and returns without waiting for it: a
   * one-shot command would otherwise spend ~85 ms, ~55 ms of it a fixed
   * pause nats-server takes whenever a pull request is pending (an idle
   * actor's long poll). The server finishes its JetStream shutdown on its
   * own; it logs to a file, so our exit cannot take it down. The record
   * gives way to `stopping.json`, and the next start on this state
   * directory waits for this pid to exit. Safe to call twice (and close()
   * after it returns at once too).
   */
  stopInBackground(): Promise<void> {
    this.#closing ??= (async () => {
      await writeFile(this.#stoppingPath, `${JSON.stringify({ pid: this.pid })}\n`, { mode: 0o600 });
      const record = await readRecord(this.#recordPath);
      if (record?.pid === this.pid) await rm(this.#recordPath, { force: true });
      this.#proc.stopInBackground();
      this.#log.info({ url: this.url, pid: this.pid }, 'embedded nats-server stopping');
    })();
    return this.#closing;
  }
}

/** Waits until the embedded server of `stateDir` that was stopped in the background has exited (see waitForStopped). */
export function embeddedStopped(stateDir: string, timeoutMs = 20_000): Promise<void> {
  return waitForStopped(embeddedPaths(stateDir).stopping, timeoutMs);
}

/**
 * Waits until a server stopped in the background on this store has exited,
 * so two servers never share it. A pid that is alive but no longer a
 * nats-server (reused) counts as gone. Throws `nats.start-failed` after
 * `timeoutMs` rather than kill a process it cannot be sure of.
 */
async function waitForStopped(file: string, timeoutMs: number): Promise<void> {
  let pid: unknown;
  try {
    pid = (JSON.parse(await readFile(file, 'utf8')) as { pid?: unknown }).pid;
  } catch {
    return; // none recorded (or unreadable: nothing to wait for)
  }
  const deadline = Date.now() + timeoutMs;
  while (typeof pid === 'number' && (await isNatsServer(pid))) {
    if (Date.now() > deadline) {
      throw new NatsError(NatsErrorCode.StartFailed, `the previous embedded nats-server (pid ${pid}) is still stopping after ${timeoutMs} ms; wait for it to exit or stop it, then run the command again`, {
        details: { pid },
      });
    }
    await sleep(5);
  }
  await rm(file, { force: true });
}

/** Whether `pid` is a live nats-server (by its command line where /proc has one, else by being alive). */
async function isNatsServer(pid: number): Promise<boolean> {
  if (!pidAlive(pid)) return false;
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).includes('nats-server');
  } catch {
    return !existsSync('/proc/self'); // no /proc: alive is all we can tell
  }
}

async function readRecord(file: string): Promise<EmbeddedRecord | undefined> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as Partial<EmbeddedRecord>;
    if (typeof v.url !== 'string' || typeof v.pid !== 'number' || typeof v.serverId !== 'string') return undefined;
    return v as EmbeddedRecord;
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The URL of the embedded server recorded for `stateDir`, only if its pid is
 * alive and the server at that URL answers with the recorded server_id.
 */
export async function findRunningEmbedded(stateDir: string): Promise<string | undefined> {
  const record = await readRecord(embeddedPaths(stateDir).record);
  if (record === undefined || !pidAlive(record.pid)) return undefined;
  try {
    const nc = await connect({ servers: record.url, timeout: 1000, reconnect: false });
    const id = nc.info?.server_id;
    await nc.close();
    return id === record.serverId ? record.url : undefined;
  } catch {
    return undefined;
  }
}
