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
 * - Server log lines go to `log` at debug level.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
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

export function embeddedPaths(stateDir: string): { readonly dir: string; readonly config: string; readonly record: string } {
  const dir = join(stateDir, 'nats');
  return { dir, config: join(dir, 'nats-server.conf'), record: join(dir, 'embedded.json') };
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
  readonly #log: Logger;
  #closing: Promise<void> | undefined;

  private constructor(proc: ServerProcess, url: string, port: number, dir: string, recordPath: string, log: Logger) {
    this.#proc = proc;
    this.url = url;
    this.port = port;
    this.pid = proc.pid;
    this.dir = dir;
    this.#recordPath = recordPath;
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
    const log = opts.log.child({ component: 'nats-server' });
    for (let attempt = 1; ; attempt++) {
      const [port] = await freePorts(1, HOST);
      if (port === undefined) throw new Error('unreachable: freePorts(1) returned nothing');
      const config = renderServerConfig({ serverName: 'ferry-embedded', host: HOST, port, storeDir: paths.dir });
      await writeFile(paths.config, config, { mode: 0o600 });
      const proc = await ServerProcess.spawn({
        binary,
        configPath: paths.config,
        detached: true,
        unref: true,
        reap: { signal: 'SIGTERM', graceMs: opts.signalGraceMs ?? 30_000 },
        onLine: (line) => log.debug(line.replace(LOG_PREFIX, '')),
      });
      const url = `nats://${HOST}:${port}`;
      try {
        const id = await waitForServer(url, proc, { jetstream: true, timeoutMs: opts.startTimeoutMs ?? 20_000 });
        const record: EmbeddedRecord = { url, pid: proc.pid, serverId: id.serverId, startedAt: new Date().toISOString() };
        const tmp = `${paths.record}.${randomUUID()}.tmp`;
        await writeFile(tmp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
        await rename(tmp, paths.record);
        opts.log.info({ url, pid: proc.pid, dir: paths.dir }, 'embedded nats-server started');
        return new EmbeddedNats(proc, url, port, paths.dir, paths.record, opts.log);
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
