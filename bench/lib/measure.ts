/**
 * Runs external commands for the side-by-side benchmark: timed ones under
 * GNU `/usr/bin/time -v` (wall clock, peak RSS, user+sys CPU), untimed
 * set-up ones plainly. Both fail loudly: a non-zero exit throws with the
 * caller's label, the command line and the tail of its stderr, because a
 * benchmark that carries on after a failed backup reports nonsense.
 *
 * Calls are synchronous on purpose: the harness runs one command at a time,
 * and nothing else in the process should compete with the tool measured.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

/** One external command; `env` is added to the harness's own environment. */
export interface Command {
  readonly file: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/** What `/usr/bin/time -v` reports for one command and the children it waited for. */
export interface Usage {
  /** Wall clock, milliseconds precision (see `measure`). */
  readonly wallS: number;
  /**
   * Largest resident set of any single process of the command's tree (the
   * kernel keeps the maximum over waited-for children, not their sum).
   */
  readonly maxRssKiB: number;
  /** User + system CPU seconds, waited-for children included. */
  readonly cpuS: number;
}

const TIME = '/usr/bin/time';
const STDERR_TAIL_LINES = 25;
const MAX_BUFFER = 256 * 1024 * 1024;

let scratch: string | undefined;

function timeOutputFile(): string {
  scratch ??= mkdtempSync(join(os.tmpdir(), 'ferry-bench-time-'));
  return join(scratch, 'time.txt');
}

/** Removes the scratch directory holding `/usr/bin/time` output; call once at exit. */
export function cleanupMeasure(): void {
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}

export const commandLine = (c: Command): string => [c.file, ...c.args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(' ');

function tail(text: string): string {
  const lines = text.trimEnd().split('\n');
  const kept = lines.slice(-STDERR_TAIL_LINES).map((l) => (l.length > 400 ? `${l.slice(0, 400)}…` : l));
  return (lines.length > kept.length ? [`… (${lines.length - kept.length} earlier lines)`, ...kept] : kept).join('\n');
}

function failure(label: string, c: Command, how: string, stderr: string, stdout = ''): Error {
  const where = c.cwd === undefined ? '' : ` (in ${c.cwd})`;
  const err = stderr.trim() === '' ? '(stderr empty)' : `stderr, last lines:\n${tail(stderr)}`;
  // Some tools (diff) report on stdout; show it when stderr says nothing.
  const out = stderr.trim() === '' && stdout.trim() !== '' ? `\nstdout, last lines:\n${tail(stdout)}` : '';
  return new Error(`${label} failed: ${how}\n  command: ${commandLine(c)}${where}\n${err}${out}`);
}

function spawn(label: string, c: Command, file: string, args: readonly string[]): { stdout: string; stderr: string } {
  const r = spawnSync(file, args, {
    cwd: c.cwd,
    env: { ...process.env, ...c.env },
    encoding: 'utf8',
    maxBuffer: MAX_BUFFER,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.error !== undefined) throw failure(label, c, `could not run: ${r.error.message}`, r.stderr ?? '');
  if (r.signal !== null) throw failure(label, c, `killed by ${r.signal}`, r.stderr, r.stdout);
  if (r.status !== 0) throw failure(label, c, `exit code ${r.status}`, r.stderr, r.stdout);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** Runs an untimed command and returns its stdout; throws on a non-zero exit. */
export function run(label: string, c: Command): string {
  return spawn(label, c, c.file, c.args).stdout;
}

/** `h:mm:ss.ss` or `m:ss.ss` → seconds. */
function clockSeconds(s: string): number {
  return s.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
}

/** Parses GNU time's `-v` report; throws if a figure is missing, so a format change cannot pass as zeros. */
export function parseTimeV(text: string): Usage {
  const field = (name: string): string => {
    const m = new RegExp(`^\\s*${name.replace(/[()]/g, '\\$&')}:\\s*(\\S+)\\s*$`, 'm').exec(text);
    if (m?.[1] === undefined) throw new Error(`/usr/bin/time -v output has no "${name}":\n${text}`);
    return m[1];
  };
  const wallS = clockSeconds(field('Elapsed (wall clock) time (h:mm:ss or m:ss)'));
  // Rounded to time's own centiseconds, so 0.87 + 0.17 does not print as 1.0400000000000001.
  const cpuS = Math.round((Number(field('User time (seconds)')) + Number(field('System time (seconds)'))) * 100) / 100;
  const maxRssKiB = Number(field('Maximum resident set size (kbytes)'));
  if (![wallS, cpuS, maxRssKiB].every(Number.isFinite)) throw new Error(`unreadable /usr/bin/time -v output:\n${text}`);
  return { wallS, maxRssKiB, cpuS };
}

/**
 * Runs `c` under `/usr/bin/time -v` and returns its usage and stdout.
 * time's report goes to a file, so the command's own stderr stays intact
 * for the failure message. Wall time is taken here, around the spawn: time
 * reports centiseconds, too coarse for a `find` over a few thousand files;
 * its own figure is kept only as a sanity check.
 */
export function measure(label: string, c: Command): Usage & { readonly stdout: string } {
  const out = timeOutputFile();
  rmSync(out, { force: true });
  const t0 = performance.now();
  const { stdout } = spawn(label, c, TIME, ['-v', '-o', out, c.file, ...c.args]);
  const wallS = Math.round(performance.now() - t0) / 1000;
  const usage = parseTimeV(readFileSync(out, 'utf8'));
  if (Math.abs(usage.wallS - wallS) > 0.5 + 0.05 * wallS) console.error(`warning: ${label}: /usr/bin/time says ${usage.wallS} s, the harness measured ${wallS} s`);
  return { ...usage, wallS, stdout };
}

/** `du -sb`: apparent bytes under `path`; 0 when it does not exist (a tool that kept no local cache). */
export function diskBytes(path: string): number {
  const r = spawnSync('du', ['-sb', path], { encoding: 'utf8' });
  if (r.status !== 0) {
    if (/No such file/.test(r.stderr)) return 0;
    throw new Error(`du -sb ${path} failed: ${r.stderr.trim()}`);
  }
  const bytes = Number(r.stdout.split('\t')[0]);
  if (!Number.isFinite(bytes)) throw new Error(`du -sb ${path}: unreadable output ${JSON.stringify(r.stdout)}`);
  return bytes;
}
