/**
 * Shared by the benchmarks: the machine they ran on, medians, number
 * formatting, and writing one section of docs/BENCHMARKS.md while keeping
 * every other section.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findNatsServer } from '../../services/nats/server-process.ts';

export const BENCHMARKS_MD = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'BENCHMARKS.md');

export interface Machine {
  readonly cpu: string;
  readonly nproc: number;
  readonly memGiB: number;
  readonly node: string;
  readonly nats: string;
  /** 1-minute load average when the benchmark started (the machine may be shared). */
  readonly load: number;
}

export function machine(): Machine {
  let cpu = 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    // Not Linux.
  }
  const bin = findNatsServer();
  let nats = 'not found';
  if (bin !== undefined) {
    try {
      nats = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim().replace(/^nats-server:\s*/, '');
    } catch {
      nats = 'unknown';
    }
  }
  return { cpu, nproc: os.availableParallelism(), memGiB: os.totalmem() / 2 ** 30, node: process.version, nats, load: os.loadavg()[0] ?? NaN };
}

export function machineLines(m: Machine, loadAfter: number): string[] {
  return [
    `- Machine: ${m.nproc} CPUs (${m.cpu}), ${fmt(m.memGiB, 1)} GiB RAM; load average (1 min) ${fmt(m.load, 2)} before, ${fmt(loadAfter, 2)} after the run`,
    `- Node ${m.node}, nats-server ${m.nats}`,
  ];
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–';

const HEADER = [
  '# Benchmarks',
  '',
  'Figures measured on the machine each section names, with the command it',
  'quotes. Every benchmark runs several rounds and reports the **median**;',
  'rerunning a benchmark rewrites only its own section. How to run them:',
  '[bench/README.md](../bench/README.md).',
  '',
].join('\n');

/**
 * Replaces the section that starts with `heading` (a `## ` line) up to the
 * next `## ` heading, or appends it; creates the file with a short header
 * when it does not exist.
 */
export function writeSection(heading: string, body: string, file = BENCHMARKS_MD): void {
  if (!heading.startsWith('## ')) throw new Error(`section heading must start with "## ", got ${heading}`);
  const section = `${heading}\n\n${body.trim()}\n`;
  const doc = existsSync(file) ? readFileSync(file, 'utf8') : HEADER;
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => l.trimEnd() === heading);
  let out: string;
  if (start < 0) {
    out = `${doc.trimEnd()}\n\n${section}`;
  } else {
    let end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
    if (end < 0) end = lines.length;
    const before = lines.slice(0, start).join('\n').trimEnd();
    const after = lines.slice(end).join('\n').trim();
    out = `${before}\n\n${section}${after === '' ? '' : `\n${after}\n`}`;
  }
  writeFileSync(file, out.replace(/\n*$/, '\n'));
}
