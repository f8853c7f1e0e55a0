import { hostname } from 'node:os';
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { readPassword } from '../password.ts';
import { UsageError } from '../usage-error.ts';
import { Repository } from '../../services/repo/repository.ts';
import { KeyKind } from '../../services/crypto/tenant-keys.ts';
import { chunkerParamsForAverage } from '../../services/repo/chunker.ts';

const MiB = 1024 * 1024;

function positiveInt(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive whole number, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * The average chunk size a user may pick: powers of two from 64 KiB
 * (smaller multiplies index entries for little more deduplication) to
 * 8 MiB (larger makes the read windows and sealed blobs of every content
 * task that large).
 */
const CHUNK_KIB = { min: 64, max: 8192 } as const;

function chunkSizeKiB(v: string | undefined): number | undefined {
  const n = positiveInt(v, '--chunk-size');
  if (n !== undefined && (n & (n - 1) || n < CHUNK_KIB.min || n > CHUNK_KIB.max)) {
    throw new UsageError(`--chunk-size is the average chunk size in KiB: a power of two from ${CHUNK_KIB.min} to ${CHUNK_KIB.max}, got ${n}`);
  }
  return n;
}

export const initCommand: Command = {
  name: 'init',
  usage: 'ferry init [--pack-size MiB] [--chunk-size KiB] [--kdf-memory MiB]',
  summary: 'create a new encrypted repository',
  async run(args, s) {
    const { values } = parseCommandArgs('init', args, { 'pack-size': { type: 'string' }, 'chunk-size': { type: 'string' }, 'kdf-memory': { type: 'string' } });
    // Options first: bad usage leaves no directory behind.
    const packMiB = positiveInt(values['pack-size'], '--pack-size');
    const chunkKiB = chunkSizeKiB(values['chunk-size']);
    const kdfMemoryMiB = positiveInt(values['kdf-memory'], '--kdf-memory');
    const storage = await s.openStorage({ create: true });
    try {
      const repo = await Repository.init(storage, await readPassword(s.cfg, s.env, 'new repository passphrase'), {
        host: s.cfg.host,
        ...(packMiB ? { packSize: packMiB * MiB } : {}),
        ...(chunkKiB ? { chunker: chunkerParamsForAverage(chunkKiB * 1024) } : {}),
        ...(kdfMemoryMiB ? { kdfMemoryMiB } : {}),
      });
      s.print({ id: repo.config.id, location: storage.location }, () => `created repository ${repo.config.id} at ${storage.location}`);
      return ExitCode.Ok;
    } finally {
      await storage.close();
    }
  },
};

export const keyCommand: Command = {
  name: 'key',
  usage: 'ferry key list | ferry key add [--writer] [--kdf-memory MiB]   (new passphrase from FERRY_NEW_PASSWORD or FERRY_NEW_PASSWORD_FILE)',
  summary: 'list keys, or add an owner key or a write-only key',
  async run(args, s) {
    const { values, positionals } = parseCommandArgs('key', args, { writer: { type: 'boolean' }, 'kdf-memory': { type: 'string' } });
    const repo = await s.repo();
    if (positionals[0] === 'list') {
      const keys = await repo.listKeys();
      s.print(keys, () => keys.map((k) => `${k.id.slice(0, 12)}  ${k.kind.padEnd(6)}  ${k.host}  ${k.created}`));
      return ExitCode.Ok;
    }
    if (positionals[0] !== 'add') throw new UsageError(`key: expected "list" or "add"\nusage: ${keyCommand.usage}`);
    const newCfg = {
      ...s.cfg,
      password: s.env.FERRY_NEW_PASSWORD !== undefined
        ? ({ from: 'env' } as const)
        : s.env.FERRY_NEW_PASSWORD_FILE
          ? ({ from: 'file', path: s.env.FERRY_NEW_PASSWORD_FILE } as const)
          : process.stdin.isTTY ? ({ from: 'prompt' } as const) : ({ from: 'none' } as const),
    };
    const pw = await readPassword(newCfg, { ...s.env, FERRY_PASSWORD: s.env.FERRY_NEW_PASSWORD }, 'passphrase for the new key');
    const id = await repo.addKey(pw, {
      host: s.cfg.host ?? hostname(),
      kind: values.writer ? KeyKind.Writer : KeyKind.Owner,
      kdfMemoryMiB: positiveInt(values['kdf-memory'], '--kdf-memory'),
    });
    s.print({ id, kind: values.writer ? 'writer' : 'owner' }, () => `added ${values.writer ? 'write-only' : 'owner'} key ${id.slice(0, 12)}`);
    return ExitCode.Ok;
  },
};
