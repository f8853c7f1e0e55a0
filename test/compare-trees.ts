/** Compares two directory trees: names, types, content, mode and mtime (to the millisecond). */
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

export async function compareTrees(a: string, b: string, opts: { metadata: boolean }): Promise<string[]> {
  const diffs: string[] = [];
  async function visit(rel: string): Promise<void> {
    const pa = join(a, rel);
    const pb = join(b, rel);
    const [sa, sb] = await Promise.all([lstat(pa), lstat(pb).catch(() => null)]);
    if (!sb) return void diffs.push(`missing: ${rel}`);
    if ((sa.mode & 0o170000) !== (sb.mode & 0o170000)) return void diffs.push(`type differs: ${rel}`);
    if (opts.metadata && rel !== '') {
      if ((sa.mode & 0o7777) !== (sb.mode & 0o7777)) diffs.push(`mode differs: ${rel} ${(sa.mode & 0o7777).toString(8)} vs ${(sb.mode & 0o7777).toString(8)}`);
      if (!sa.isSymbolicLink() && Math.floor(sa.mtimeMs) !== Math.floor(sb.mtimeMs)) diffs.push(`mtime differs: ${rel} ${sa.mtimeMs} vs ${sb.mtimeMs}`);
    }
    if (sa.isSymbolicLink()) {
      if ((await readlink(pa)) !== (await readlink(pb))) diffs.push(`link target differs: ${rel}`);
    } else if (sa.isFile()) {
      if (!(await readFile(pa)).equals(await readFile(pb))) diffs.push(`content differs: ${rel}`);
    } else if (sa.isDirectory()) {
      const [ea, eb] = await Promise.all([readdir(pa), readdir(pb)]);
      for (const extra of eb.filter((n) => !ea.includes(n))) diffs.push(`extra: ${join(rel, extra)}`);
      for (const n of ea.sort()) await visit(join(rel, n));
    }
  }
  await visit('');
  return diffs;
}
