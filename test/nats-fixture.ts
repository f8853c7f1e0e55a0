/**
 * Test fixtures: a private nats-server, or a 3-node JetStream cluster, on
 * loopback with free ports and fresh temp store dirs.
 *
 * Contract:
 * - startNats()/startCluster() resolve once clients connect and (with
 *   JetStream) account info answers on every node, i.e. a meta leader exists.
 * - kill() is a SIGKILL crash; restart() starts the same config again (same
 *   port, same store dir) and waits for readiness; logs() spans restarts.
 * - stop() stops the server and deletes its temp dir; it is safe twice and
 *   restart() after stop() throws.
 * - Every server still running when the test process exits is killed, and
 *   its temp dir removed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, renderServerConfig, type ServerConfigSpec } from '../services/nats/server-config.ts';
import { findNatsServer, ServerProcess, waitForServer } from '../services/nats/server-process.ts';

export interface NatsFixture {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** Graceful stop, then the temp dir is deleted. Safe twice. */
  stop(): Promise<void>;
  /** SIGKILL, like a crash. The store dir stays for restart(). */
  kill(): Promise<void>;
  /** Starts again on the same port and store dir (stopping gracefully first if running). */
  restart(): Promise<void>;
  logs(): string;
}

export interface ClusterFixture {
  readonly urls: string[];
  readonly nodes: NatsFixture[];
  stop(): Promise<void>;
  killNode(i: number): Promise<void>;
  restartNode(i: number): Promise<void>;
}

const HOST = '127.0.0.1';
const MAX_LOG_LINES = 20_000;
const liveDirs = new Set<string>();
process.once('exit', () => {
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
});

function natsBinary(): string {
  const bin = findNatsServer();
  if (bin === undefined) throw new Error('nats-server not found on PATH or at /usr/sbin/nats-server; run deploy/setup.sh');
  return bin;
}

class FixtureServer implements NatsFixture {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  readonly #root: string;
  readonly #configPath: string;
  readonly #spec: ServerConfigSpec;
  readonly #lines: string[] = [];
  #proc: ServerProcess | undefined;
  #stopping: Promise<void> | undefined;

  constructor(root: string, spec: Omit<ServerConfigSpec, 'storeDir'>, jetstream: boolean) {
    this.#root = root;
    this.port = spec.port;
    this.url = `nats://${HOST}:${spec.port}`;
    this.storeDir = join(root, 'store');
    this.#configPath = join(root, 'nats-server.conf');
    this.#spec = jetstream ? { ...spec, storeDir: this.storeDir } : spec;
  }

  get jetstream(): boolean {
    return this.#spec.storeDir !== undefined;
  }

  /** Writes the config and spawns the server; does not wait for readiness. */
  async spawn(): Promise<ServerProcess> {
    await mkdir(this.storeDir, { recursive: true, mode: 0o700 });
    await writeFile(this.#configPath, renderServerConfig(this.#spec), { mode: 0o600 });
    if (this.#lines.length > 0) this.#lines.push(`--- fixture: starting again ---`);
    const proc = await ServerProcess.spawn({
      binary: natsBinary(),
      configPath: this.#configPath,
      reap: { signal: 'SIGKILL', graceMs: 0 },
      onLine: (line) => {
        this.#lines.push(line);
        if (this.#lines.length > MAX_LOG_LINES) this.#lines.splice(0, this.#lines.length - MAX_LOG_LINES);
      },
    });
    this.#proc = proc;
    return proc;
  }

  async ready(timeoutMs = 30_000): Promise<void> {
    if (this.#proc === undefined) throw new Error('fixture server not started');
    await waitForServer(this.url, this.#proc, { jetstream: this.jetstream, timeoutMs });
  }

  addressInUse(): boolean {
    return this.#proc?.addressInUse() ?? false;
  }

  async kill(): Promise<void> {
    await this.#proc?.kill();
  }

  async restart(): Promise<void> {
    if (this.#stopping !== undefined) throw new Error(`fixture server ${this.url} was stopped; restart() needs kill()`);
    await this.#proc?.stop(5000);
    await this.spawn();
    await this.ready();
  }

  logs(): string {
    return this.#lines.join('\n');
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#proc?.stop(5000);
      await rm(this.#root, { recursive: true, force: true });
      liveDirs.delete(this.#root);
    })();
    return this.#stopping;
  }
}

function tempRoot(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  liveDirs.add(dir);
  return dir;
}

/** A private single nats-server (JetStream on unless `jetstream: false`). */
export async function startNats(opts: { jetstream?: boolean } = {}): Promise<NatsFixture> {
  for (let attempt = 1; ; attempt++) {
    const [port] = await freePorts(1, HOST);
    if (port === undefined) throw new Error('no free port');
    const server = new FixtureServer(tempRoot('ferry-nats-'), { serverName: `ferry-test-${port}`, host: HOST, port }, opts.jetstream ?? true);
    try {
      await server.spawn();
      await server.ready();
      return server;
    } catch (err) {
      const retry = server.addressInUse() && attempt < 3;
      await server.stop();
      if (!retry) throw err;
    }
  }
}

/** A JetStream cluster of `size` nodes (default 3) on loopback, ready once a meta leader exists. */
export async function startCluster(opts: { size?: number } = {}): Promise<ClusterFixture> {
  const size = opts.size ?? 3;
  const ports = await freePorts(2 * size, HOST);
  const root = tempRoot('ferry-nats-cluster-');
  const name = `ferry-test-${ports[0]}`;
  const clusterPorts = ports.slice(size);
  const nodes: FixtureServer[] = [];
  for (let i = 0; i < size; i++) {
    const port = ports[i];
    const clusterPort = clusterPorts[i];
    if (port === undefined || clusterPort === undefined) throw new Error('not enough free ports');
    const routes = clusterPorts.filter((_, j) => j !== i).map((p) => `nats-route://${HOST}:${p}`);
    nodes.push(new FixtureServer(join(root, `n${i + 1}`), { serverName: `n${i + 1}`, host: HOST, port, cluster: { name, port: clusterPort, routes } }, true));
  }
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
    await rm(root, { recursive: true, force: true });
    liveDirs.delete(root);
  };
  try {
    for (const n of nodes) await n.spawn();
    await Promise.all(nodes.map((n) => n.ready(45_000)));
  } catch (err) {
    const logs = nodes.map((n, i) => `--- n${i + 1} ---\n${n.logs().split('\n').slice(-20).join('\n')}`).join('\n');
    await stop();
    throw new Error(`cluster did not start: ${(err as Error).message}\n${logs}`, { cause: err });
  }
  const node = (i: number): FixtureServer => {
    const n = nodes[i];
    if (n === undefined) throw new RangeError(`no cluster node ${i} (size ${size})`);
    return n;
  };
  return {
    urls: nodes.map((n) => n.url),
    nodes,
    stop,
    killNode: (i) => node(i).kill(),
    restartNode: (i) => node(i).restart(),
  };
}

/** Retries a JetStream call while a server or cluster settles (after a start, a restart or a node loss). */
export async function retry<T>(what: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
