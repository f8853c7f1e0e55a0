/**
 * `ferry` command-line entry: global flags, dispatch, and the mapping from
 * errors to messages and exit codes (exit-codes.ts).
 */
import { parseArgs } from 'node:util';
import type { Command } from './command.ts';
import { ExitCode } from './exit-codes.ts';
import { compileConfig, type GlobalFlags } from './config.ts';
import { createRootLogger } from './logger.ts';
import { Session } from './session.ts';
import { UsageError } from './usage-error.ts';
import { FerryError } from '../protocol/errors.ts';
/**
 * Commands load on demand: together they pull in the NATS client, the actors
 * and SQLite, which a command that needs none of them should not wait for.
 * `opensRepo` commands start opening the repository (scrypt, a few hundred
 * ms on the thread pool) before their modules load, so the two overlap; the
 * modules wait until scrypt runs, because the reads it needs first (config,
 * password, key file) would otherwise queue behind module compilation.
 */
interface CommandEntry {
  readonly name: string;
  readonly opensRepo: boolean;
  readonly load: () => Promise<Command>;
  /** Global option names that mean something of the command's own after its name (`site add --host`). */
  readonly ownFlags?: readonly string[];
}

const COMMANDS: readonly CommandEntry[] = [
  { name: 'init', opensRepo: false, load: async () => (await import('./commands/init.ts')).initCommand },
  { name: 'backup', opensRepo: true, load: async () => (await import('./commands/backup.ts')).backupCommand },
  { name: 'snapshots', opensRepo: true, load: async () => (await import('./commands/snapshots.ts')).snapshotsCommand },
  { name: 'ls', opensRepo: true, load: async () => (await import('./commands/snapshots.ts')).lsCommand },
  { name: 'diff', opensRepo: true, load: async () => (await import('./commands/snapshots.ts')).diffCommand },
  { name: 'log', opensRepo: true, load: async () => (await import('./commands/history.ts')).logCommand },
  { name: 'forget', opensRepo: true, load: async () => (await import('./commands/forget.ts')).forgetCommand, ownFlags: ['host', 'source'] },
  { name: 'prune', opensRepo: true, load: async () => (await import('./commands/prune.ts')).pruneCommand },
  { name: 'retention', opensRepo: false, load: async () => (await import('./commands/retention.ts')).retentionCommand, ownFlags: ['source'] },
  { name: 'restore', opensRepo: true, load: async () => (await import('./commands/restore.ts')).restoreCommand },
  { name: 'restore-file', opensRepo: true, load: async () => (await import('./commands/restore.ts')).restoreFileCommand },
  { name: 'check', opensRepo: true, load: async () => (await import('./commands/check.ts')).checkCommand },
  { name: 'sync', opensRepo: true, load: async () => (await import('./commands/sync.ts')).syncCommand },
  { name: 'catalog', opensRepo: true, load: async () => (await import('./commands/history.ts')).catalogCommand },
  { name: 'dir', opensRepo: false, load: async () => (await import('./commands/workspace.ts')).dirCommand },
  { name: 'add', opensRepo: false, load: async () => (await import('./commands/workspace.ts')).addCommand },
  { name: 'status', opensRepo: false, load: async () => (await import('./commands/workspace.ts')).statusCommand },
  { name: 'key', opensRepo: true, load: async () => (await import('./commands/init.ts')).keyCommand },
  { name: 'scan', opensRepo: true, load: async () => (await import('./commands/backup.ts')).scanCommand },
  { name: 'serve', opensRepo: false, load: async () => (await import('./commands/serve.ts')).serveCommand },
  { name: 'jobs', opensRepo: false, load: async () => (await import('./commands/serve.ts')).jobsCommand },
  { name: 'events', opensRepo: false, load: async () => (await import('./commands/serve.ts')).eventsCommand },
  { name: 'schedule', opensRepo: false, load: async () => (await import('./commands/schedule.ts')).scheduleCommand },
  { name: 'site', opensRepo: false, load: async () => (await import('./commands/site.ts')).siteCommand, ownFlags: ['host'] },
  { name: 'target', opensRepo: false, load: async () => (await import('./commands/site.ts')).targetCommand },
];

const GLOBAL_OPTIONS = {
  repo: { type: 'string', short: 'r' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  quiet: { type: 'boolean', short: 'q' },
  host: { type: 'string' },
  source: { type: 'string' },
  tenant: { type: 'string' },
  'password-file': { type: 'string' },
  's3-endpoint': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function help(): Promise<string> {
  const commands = await Promise.all(COMMANDS.map((c) => c.load()));
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: ferry [--repo PATH] [--json] [-v|-q] COMMAND [ARGS]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'global options: --repo PATH (or FERRY_REPO), --password-file F (or FERRY_PASSWORD / FERRY_PASSWORD_FILE),',
    '  --json, --host NAME, --source ID, --tenant ID, -v/--verbose, -q/--quiet,',
    '  --s3-endpoint URL (or FERRY_S3_ENDPOINT) for S3-compatible services',
    'NATS: with NATS_URL unset, Ferry runs an embedded nats-server under its state directory',
    'exit codes: 0 ok, 1 failed, 2 usage error, 3 finished with warnings',
    'run `ferry COMMAND --help` for a command\'s usage',
  ].join('\n');
}

/** Splits argv into global flags (before the command) and the command's own arguments. */
function splitArgs(argv: string[]): { globals: string[]; name: string | undefined; rest: string[] } {
  const globals: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const a = argv[i]!;
    if (!a.startsWith('-')) break;
    globals.push(a);
    const key = a.replace(/^--?/, '').split('=')[0]!;
    const opt = Object.entries(GLOBAL_OPTIONS).find(([k, o]) => k === key || ('short' in o && o.short === key));
    if (opt && opt[1].type === 'string' && !a.includes('=')) globals.push(argv[++i] ?? '');
    i++;
  }
  return { globals, name: argv[i], rest: argv.slice(i + 1) };
}

/** Pulls global flags out of a command's arguments too, so `ferry backup --repo X dir` works. */
function extractGlobals(rest: string[], own: readonly string[] = []): { flags: string[]; rest: string[] } {
  const flags: string[] = [];
  const out: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const key = a.startsWith('--') ? a.slice(2).split('=')[0]! : a.startsWith('-') && a.length === 2 ? a.slice(1) : '';
    const opt = key ? Object.entries(GLOBAL_OPTIONS).find(([k, o]) => k === key || ('short' in o && o.short === key)) : undefined;
    if (opt && opt[0] !== 'help' && !own.includes(opt[0])) {
      flags.push(a);
      if (opt[1].type === 'string' && !a.includes('=')) flags.push(rest[++i] ?? '');
    } else out.push(a);
  }
  return { flags, rest: out };
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<ExitCode> {
  let session: Session | undefined;
  let json = argv.includes('--json');
  try {
    const split = splitArgs(argv);
    const inner = extractGlobals(split.rest, COMMANDS.find((c) => c.name === split.name)?.ownFlags);
    let parsed;
    try {
      parsed = parseArgs({ args: [...split.globals, ...inner.flags], options: GLOBAL_OPTIONS, strict: true, allowPositionals: false });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const flags = parsed.values as GlobalFlags & { help?: boolean };
    const entry = COMMANDS.find((c) => c.name === split.name);
    if (!split.name || (flags.help && !entry)) {
      process.stdout.write((await help()) + '\n');
      return split.name || flags.help ? ExitCode.Ok : ExitCode.Usage;
    }
    if (!entry) throw new UsageError(`unknown command ${JSON.stringify(split.name)}; run \`ferry --help\``);
    if (inner.rest.includes('--help') || inner.rest.includes('-h')) {
      const cmd = await entry.load();
      process.stdout.write(`usage: ${cmd.usage}\n${cmd.summary}\n`);
      return ExitCode.Ok;
    }
    const cfg = compileConfig(flags, env, process.stdin.isTTY === true);
    json = cfg.json;
    const log = createRootLogger({ level: cfg.logLevel, pretty: cfg.prettyLogs }).child({ cmd: entry.name });
    session = new Session(cfg, log, env);
    // Errors surface where the command awaits the repository; a command that never does ignores them.
    if (entry.opensRepo && cfg.repo) await session.unlockStarted();
    const cmd = await entry.load();
    return await cmd.run(inner.rest, session);
  } catch (err) {
    return reportError(err, json);
  } finally {
    await session?.close().catch(() => {});
  }
}

function reportError(err: unknown, json: boolean): ExitCode {
  const usage = err instanceof UsageError;
  const code = err instanceof FerryError ? err.code : ((err as { code?: string }).code ?? 'error');
  const message = err instanceof Error ? err.message : String(err);
  if (json) process.stdout.write(JSON.stringify({ error: { code, message } }) + '\n');
  process.stderr.write(`ferry: ${message}${usage ? '' : ` [${code}]`}\n`);
  if (!usage && !(err instanceof FerryError) && process.env.FERRY_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
  return usage ? ExitCode.Usage : ExitCode.Failed;
}
