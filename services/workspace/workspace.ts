/**
 * The personal workflow's local state (seed 002, bt): which directories are
 * tracked and which paths are staged for the next `ferry backup`. A small
 * SQLite file per repository in Ferry's state directory; it is local intent,
 * not backup data, so it is not in the repository.
 *
 * Tracking a directory that contains tracked directories absorbs them;
 * tracking a directory inside a tracked one is a no-op.
 */
import Database from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname, sep } from 'node:path';

const within = (path: string, dir: string): boolean => path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);

export class Workspace {
  private readonly db: Database.Database;
  private closed = false;

  private constructor(db: Database.Database) {
    this.db = db;
  }

  static open(file: string): Workspace {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const db = new Database(file);
    chmodSync(file, 0o600);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.exec(`CREATE TABLE IF NOT EXISTS tracked (path TEXT PRIMARY KEY, created_ms INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS staged (path TEXT PRIMARY KEY, staged_ms INTEGER NOT NULL);`);
    return new Workspace(db);
  }

  /** Returns 'added', 'already' (inside a tracked dir) or 'merged' (absorbed tracked subdirectories). */
  track(dir: string, now = Date.now()): 'added' | 'already' | 'merged' {
    const existing = this.tracked();
    if (existing.some((t) => within(dir, t))) return 'already';
    const inner = existing.filter((t) => within(t, dir));
    this.db.transaction(() => {
      for (const t of inner) this.db.prepare('DELETE FROM tracked WHERE path = ?').run(t);
      this.db.prepare('INSERT INTO tracked (path, created_ms) VALUES (?, ?)').run(dir, now);
    })();
    return inner.length > 0 ? 'merged' : 'added';
  }

  tracked(): string[] {
    return (this.db.prepare('SELECT path FROM tracked ORDER BY path').all() as { path: string }[]).map((r) => r.path);
  }

  trackedDirFor(path: string): string | undefined {
    return this.tracked().find((t) => within(path, t));
  }

  stage(path: string, now = Date.now()): void {
    this.db.prepare('INSERT INTO staged (path, staged_ms) VALUES (?, ?) ON CONFLICT(path) DO UPDATE SET staged_ms = excluded.staged_ms').run(path, now);
  }

  staged(): string[] {
    return (this.db.prepare('SELECT path FROM staged ORDER BY path').all() as { path: string }[]).map((r) => r.path);
  }

  /** True when `path` or one of its ancestors is staged. */
  isStaged(path: string, staged: readonly string[] = this.staged()): boolean {
    return staged.some((p) => within(path, p));
  }

  clearStaged(): void {
    this.db.prepare('DELETE FROM staged').run();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}

