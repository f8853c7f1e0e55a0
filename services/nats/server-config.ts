/**
 * nats-server configuration files and loopback port allocation, shared by the
 * embedded server and the test fixtures so both run the same kind of server.
 */
import { createServer, type Server } from 'node:net';

export interface ServerConfigSpec {
  readonly serverName: string;
  readonly host: string;
  readonly port: number;
  /** JetStream store dir; omit to run without JetStream. */
  readonly storeDir?: string;
  /** Largest message the server accepts, in bytes. Default 8 MiB (nats.conf). */
  readonly maxPayload?: number;
  /** Log to this file instead of stderr. */
  readonly logFile?: string;
  readonly cluster?: {
    readonly name: string;
    readonly port: number;
    /** Route URLs of the other nodes, e.g. `nats-route://127.0.0.1:6222`. */
    readonly routes: readonly string[];
  };
}

export const DEFAULT_MAX_PAYLOAD = 8 * 1024 * 1024;

/** Renders a nats-server config file (strings JSON-quoted, which the parser accepts). */
export function renderServerConfig(spec: ServerConfigSpec): string {
  const q = (s: string): string => JSON.stringify(s);
  const lines = [
    '# Written by Ferry; regenerated on every start.',
    `server_name: ${q(spec.serverName)}`,
    `listen: ${q(`${spec.host}:${spec.port}`)}`,
    `max_payload: ${spec.maxPayload ?? DEFAULT_MAX_PAYLOAD}`,
  ];
  if (spec.logFile !== undefined) lines.push(`log_file: ${q(spec.logFile)}`);
  if (spec.storeDir !== undefined) {
    lines.push('jetstream {', `  store_dir: ${q(spec.storeDir)}`, '}');
  }
  if (spec.cluster !== undefined) {
    lines.push(
      'cluster {',
      `  name: ${q(spec.cluster.name)}`,
      `  listen: ${q(`${spec.host}:${spec.cluster.port}`)}`,
      `  routes: [${spec.cluster.routes.map(q).join(', ')}]`,
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * `n` distinct ports that were free on `host` a moment ago. All listeners are
 * held open together so the ports differ; a race with another process binding
 * the port before the server does is possible, so callers retry on EADDRINUSE.
 */
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const srv = createServer();
      servers.push(srv);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          srv.once('error', reject);
          srv.listen(0, host, () => {
            const addr = srv.address();
            if (addr === null || typeof addr === 'string') reject(new Error('no port assigned'));
            else resolve(addr.port);
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
