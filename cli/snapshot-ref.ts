/** Parsing `SNAPSHOT[:PATH]` arguments and formatting snapshot rows. */
import type { SnapshotRecord } from '../services/repo/repository.ts';
import { snapshotTime } from '../services/repo/snapshot-list.ts';
import { splitPath } from '../services/repo/selection.ts';

export function parseSnapshotRef(arg: string): { snap: string; parts: string[] } {
  const i = arg.indexOf(':');
  if (i < 0) return { snap: arg, parts: [] };
  return { snap: arg.slice(0, i), parts: splitPath('/' + arg.slice(i + 1)) };
}

export { snapshotTime };

export function snapshotJson(r: SnapshotRecord) {
  const s = r.snapshot;
  return {
    id: r.id,
    time: snapshotTime(r).toISOString(),
    host: s.host,
    source: s.source,
    paths: s.paths,
    tags: s.tags,
    status: s.status,
    parent: s.parent ? Buffer.from(s.parent).toString('hex') : null,
    tree: Buffer.from(s.tree).toString('hex'),
    summary: s.summary,
    errorCount: s.errorCount,
  };
}

export function modeString(type: string, mode: number): string {
  const t = type === 'f' ? '-' : type;
  const rwx = (b: number) => `${b & 4 ? 'r' : '-'}${b & 2 ? 'w' : '-'}${b & 1 ? 'x' : '-'}`;
  return t + rwx(mode >> 6) + rwx(mode >> 3) + rwx(mode);
}
