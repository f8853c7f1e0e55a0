/**
 * The one way Ferry opens a NATS connection.
 *
 * Contract:
 * - Credentials may ride in the URL (`nats://user:pass@host:4222`,
 *   `nats://token@host:4222`); `connectOptions` can give them instead.
 * - The first connect must succeed; otherwise `nats.unreachable` (retryable)
 *   naming the URL, or `nats.auth-failed` when the server refused the
 *   credentials. Credentials in the URL never appear in messages or logs.
 * - After that the client reconnects forever (every 250 ms, with jitter) and
 *   buffers publishes meanwhile; disconnect, reconnect, lame-duck and server
 *   error events are logged.
 */
import { AuthorizationError, type ConnectionOptions, type NatsConnection, type Status } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { NatsError, NatsErrorCode, redactUrl } from './errors.ts';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

export interface ConnectNatsOptions {
  /** Server URL(s): one, a comma-separated list, or an array (cluster seeds). Default nats://127.0.0.1:4222. */
  readonly url?: string | readonly string[];
  /** Client name shown by `nats server report connections`, e.g. `ferry-uploader`. */
  readonly name: string;
  readonly log: Logger;
  /** First-connect timeout. Default 5 s. */
  readonly timeoutMs?: number;
  /** Further client options (authentication, TLS); reconnect settings here win over the defaults. */
  readonly connectOptions?: Omit<ConnectionOptions, 'servers' | 'name'>;
}

/** Splits `url` into server URLs. */
export function natsServers(url: ConnectNatsOptions['url']): string[] {
  const list = url === undefined ? [DEFAULT_NATS_URL] : typeof url === 'string' ? url.split(',') : [...url];
  const servers = list.map((s) => s.trim()).filter((s) => s !== '');
  return servers.length > 0 ? servers : [DEFAULT_NATS_URL];
}

export async function connectNats(opts: ConnectNatsOptions): Promise<NatsConnection> {
  const listed = natsServers(opts.url);
  const servers = listed.map(redactUrl);
  const shown = servers.join(',');
  const log = opts.log.child({ nats: shown, client: opts.name });
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      name: opts.name,
      timeout: opts.timeoutMs ?? 5000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 100,
      waitOnFirstConnect: false,
      ...credentialsFromUrls(listed),
      ...opts.connectOptions,
    });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (err instanceof AuthorizationError) {
      throw new NatsError(NatsErrorCode.AuthFailed, `NATS at ${shown} refused the credentials for ${opts.name}: ${msg}`, { details: { url: shown }, cause: err });
    }
    throw new NatsError(NatsErrorCode.Unreachable, `cannot connect to NATS at ${shown}: ${msg}; is nats-server running (or unset NATS_URL for the embedded server)?`, {
      retryable: true,
      details: { url: shown },
      cause: err,
    });
  }
  log.debug({ server: nc.getServer() }, 'nats connected');
  void watchStatus(nc, log);
  return nc;
}

/**
 * `nats://user:pass@host` → user/pass, `nats://token@host` → token: the
 * client does not read credentials from server URLs, so they are lifted out
 * (from the first URL that has them) and the URLs passed on without them.
 */
export function credentialsFromUrls(urls: readonly string[]): { user?: string; pass?: string; token?: string } {
  for (const u of urls) {
    let parsed: URL;
    try {
      parsed = new URL(u.includes('://') ? u : `nats://${u}`);
    } catch {
      continue;
    }
    const user = decodeURIComponent(parsed.username);
    const pass = decodeURIComponent(parsed.password);
    if (user === '') continue;
    return parsed.password === '' ? { token: user } : { user, pass };
  }
  return {};
}

async function watchStatus(nc: NatsConnection, log: Logger): Promise<void> {
  try {
    for await (const s of nc.status()) logStatus(s, log);
  } catch (err) {
    log.debug({ err }, 'nats status watch ended');
  }
}

function logStatus(s: Status, log: Logger): void {
  switch (s.type) {
    case 'disconnect':
      log.warn({ server: redactUrl(s.server) }, 'nats disconnected; reconnecting');
      return;
    case 'reconnect':
      log.info({ server: redactUrl(s.server) }, 'nats reconnected');
      return;
    case 'reconnecting':
      log.debug('nats reconnecting');
      return;
    case 'ldm':
      log.warn({ server: redactUrl(s.server) }, 'nats server entering lame duck mode; will move to another server');
      return;
    case 'error':
      log.warn({ err: s.error }, 'nats server error');
      return;
    case 'staleConnection':
      log.warn('nats connection stale; reconnecting');
      return;
    case 'slowConsumer':
      log.warn({ subject: s.sub.getSubject(), pending: s.pending }, 'nats slow consumer');
      return;
    case 'update':
      log.debug({ added: s.added, deleted: s.deleted }, 'nats cluster servers changed');
      return;
    case 'close':
      log.debug('nats connection closed');
      return;
    default:
      return;
  }
}
