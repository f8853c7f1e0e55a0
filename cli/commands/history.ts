import { resolve } from 'node:path';
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { UsageError } from '../usage-error.ts';
import { syncCatalog } from '../catalog-sync.ts';
import { checksumHex } from './restore.ts';
import { splitPath } from '../../services/repo/selection.ts';

export const logCommand: Command = {
  name: 'log',
  usage: 'ferry log FILE [--json]',
  summary: 'every stored version of FILE: time, size, checksum, snapshot',
  async run(args, s) {
    const { positionals } = parseCommandArgs('log', args, {});
    if (!positionals[0]) throw new UsageError(`log: which file?\nusage: ${logCommand.usage}`);
    const file = resolve(positionals[0]);
    const { catalog } = await syncCatalog(s);
    const versions = catalog.history(splitPath(file)).reverse();
    if (versions.length === 0) throw new UsageError(`log: ${file} has no stored versions in source ${s.cfg.source}`);
    let n = 0;
    const rows = versions.map((v) => ({
      version: v.deleted ? null : ++n,
      time: v.snapshotTime.toISOString(),
      snapshot: v.snapshotId,
      size: v.size,
      mtime: new Date(v.mtimeMs).toISOString(),
      checksum: checksumHex(v.hash),
      deleted: v.deleted,
    }));
    s.print(rows, () => rows.map((r) => (r.deleted ? `   -  ${r.time}  deleted                       snapshot ${r.snapshot.slice(0, 12)}` : `${String(r.version).padStart(4)}  ${r.time}  ${String(r.size).padStart(12)}  ${r.checksum}  snapshot ${r.snapshot.slice(0, 12)}`)));
    return ExitCode.Ok;
  },
};

export const catalogCommand: Command = {
  name: 'catalog',
  usage: 'ferry catalog rebuild | ferry catalog stats',
  summary: 'rebuild the local catalog from the repository, or show its size',
  async run(args, s) {
    const { positionals } = parseCommandArgs('catalog', args, {});
    if (positionals[0] === 'rebuild') {
      const { catalog, applied } = await syncCatalog(s, { rebuild: true });
      const st = catalog.stats();
      s.print({ applied, ...st }, () => `catalog rebuilt from ${applied} snapshot(s): ${st.nodes} nodes, ${st.bytes} bytes (${st.bytesPerNode.toFixed(1)} bytes/node)`);
      return ExitCode.Ok;
    }
    if (positionals[0] === 'stats') {
      const { catalog } = await syncCatalog(s);
      const st = catalog.stats();
      s.print(st, () => `${st.nodes} nodes (${st.files} files, ${st.dirs} dirs), ${st.bytes} bytes, ${st.bytesPerNode.toFixed(1)} bytes/node`);
      return ExitCode.Ok;
    }
    throw new UsageError(`catalog: expected "rebuild" or "stats"\nusage: ${catalogCommand.usage}`);
  },
};
