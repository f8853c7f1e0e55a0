/**
 * The one root pino logger of a CLI process. JSON lines on stderr by default,
 * pretty when stderr is a TTY (or FERRY_LOG_FORMAT=pretty). Secrets are
 * redacted by path. Commands take child loggers with their own bindings.
 */
import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';

// pino-pretty and its dependencies load only for a terminal: a command run
// by cron or systemd, whose logs are JSON, does not pay for them at start-up.
const require = createRequire(import.meta.url);

export const REDACT_PATHS = ['password', 'passphrase', '*.password', '*.passphrase', 'key', '*.privateKey', 'env.FERRY_PASSWORD'];

export function createRootLogger(opts: { level: string; pretty: boolean }): Logger {
  const options = { level: opts.level, base: { pid: process.pid }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (opts.pretty) {
    const pretty = require('pino-pretty') as typeof import('pino-pretty');
    return pino(options, pretty({ destination: 2, colorize: true, translateTime: 'HH:MM:ss', ignore: 'pid,hostname', sync: true }));
  }
  return pino(options, pino.destination({ dest: 2, sync: true }));
}
