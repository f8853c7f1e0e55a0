/**
 * How the side-by-side benchmark drives each backup tool: the command lines
 * for init, backup and restore, and where each keeps its repository and its
 * local state. Every tool runs with its defaults apart from what makes the
 * comparison like for like (repository format with compression for restic,
 * authenticated encryption for all, no progress output).
 *
 * A session's repository, caches and passphrase all live under one
 * directory the caller creates empty, so removing it makes the next session
 * start from nothing: no restic cache, borg files cache or Ferry catalog
 * survives from an earlier (tool, round).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from './measure.ts';

export const TOOL_NAMES = ['ferry', 'restic', 'borg-lz4', 'borg-zstd3'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FERRY = join(REPO_ROOT, 'bin', 'ferry');
const PASSPHRASE = 'ferry-bench-passphrase';

/**
 * One fresh repository of one tool. Commands are built when asked for and
 * must be run in the order asked: a session may count its backups (borg
 * names its archives).
 */
export interface Session {
  /** The repository directory; its size is the repository size. */
  readonly repo: string;
  /** Caches and state the tool keeps outside the repository (reported apart). */
  readonly local: string;
  init(): Command;
  /** A new snapshot of `path` (absolute). */
  backup(path: string): Command;
  /** Restores the latest snapshot under `target`, an existing empty directory. */
  restoreLatest(target: string): Command;
  /** Where the restored copy of the backed-up `source` lies under `target`. */
  restoredPath(target: string, source: string): string;
  /** Walks `path` and compares it with the latest snapshot without storing anything; only tools that have such a command. */
  scan?(path: string): Command;
}

export interface Tool {
  readonly name: ToolName;
  /** Version line for the report. */
  version(): string;
  /** A session whose files all live under `dir`, which exists and is empty. */
  session(dir: string): Session;
}

// Every tool restores absolute paths below the target with the leading "/" dropped.
const underTarget = (target: string, source: string): string => join(target, source);

function ferryVersion(): string {
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  try {
    const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
    return `Ferry ${git('rev-parse', '--short', 'HEAD')}${dirty ? ' with uncommitted changes' : ''}`;
  } catch {
    return 'Ferry (git commit unknown)';
  }
}

const ferry: Tool = {
  name: 'ferry',
  version: ferryVersion,
  session(dir) {
    const password = join(dir, 'passphrase');
    writeFileSync(password, `${PASSPHRASE}\n`, { mode: 0o600 });
    const repo = join(dir, 'repo');
    const local = join(dir, 'state');
    const env = { FERRY_REPO: repo, FERRY_PASSWORD_FILE: password, FERRY_STATE_DIR: local };
    const cmd = (...args: string[]): Command => ({ file: FERRY, args, env });
    return {
      repo,
      local,
      init: () => cmd('init'),
      backup: (path) => cmd('backup', path),
      restoreLatest: (target) => cmd('restore', 'latest', '--target', target),
      restoredPath: underTarget,
      scan: (path) => cmd('scan', path),
    };
  },
};

const restic: Tool = {
  name: 'restic',
  version: () => execFileSync('restic', ['version'], { encoding: 'utf8' }).trim(),
  session(dir) {
    const repo = join(dir, 'repo');
    const local = join(dir, 'cache');
    const env = { RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: PASSPHRASE, RESTIC_CACHE_DIR: local };
    const cmd = (...args: string[]): Command => ({ file: 'restic', args, env });
    return {
      repo,
      local,
      // Format 2 is the one with compression; 0.14 still creates format 1 by default.
      init: () => cmd('init', '--repository-version', '2'),
      backup: (path) => cmd('backup', '-q', '--compression', 'auto', path),
      restoreLatest: (target) => cmd('restore', 'latest', '--target', target),
      restoredPath: underTarget,
    };
  },
};

function borg(name: ToolName, compression: string): Tool {
  return {
    name,
    version: () => execFileSync('borg', ['--version'], { encoding: 'utf8' }).trim(),
    session(dir) {
      const repo = join(dir, 'repo');
      const local = join(dir, 'base');
      const env = {
        BORG_REPO: repo,
        BORG_PASSPHRASE: PASSPHRASE,
        // Keys, security records and the files/chunks caches under the session, not ~/.
        BORG_BASE_DIR: local,
        BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes',
        BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
      };
      let archives = 0;
      const cmd = (args: string[], cwd?: string): Command => ({ file: 'borg', args, env, ...(cwd === undefined ? {} : { cwd }) });
      return {
        repo,
        local,
        init: () => cmd(['init', '--encryption=repokey-blake2']),
        backup: (path) => cmd(['create', '--compression', compression, `::snap-${++archives}`, path]),
        // borg extracts into the working directory.
        restoreLatest: (target) => {
          if (archives === 0) throw new Error(`${name}: restore before any backup`);
          return cmd(['extract', `::snap-${archives}`], target);
        },
        restoredPath: underTarget,
      };
    },
  };
}

export const TOOLS = {
  ferry,
  restic,
  'borg-lz4': borg('borg-lz4', 'lz4'),
  'borg-zstd3': borg('borg-zstd3', 'zstd,3'),
} as const satisfies Record<ToolName, Tool>;

export function isToolName(s: string): s is ToolName {
  return (TOOL_NAMES as readonly string[]).includes(s);
}
