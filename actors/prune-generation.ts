/**
 * Tells long-running writers that a prune marked or swept packs. A prune
 * puts a new value under `prune-gen.<repo id>` in `ferry-leases` after it
 * saves a mark and after it sweeps; an uploader reads it before each batch
 * and, when it changed, reloads the index (which reads the marks, and
 * starts over when index files it came from are gone). Writers that share
 * no NATS with the prune rely on the grace period instead (design.md,
 * "Prune").
 */
import type { KV } from '@nats-io/kv';

const keyOf = (repoId: string) => `prune-gen.${repoId}`;

export async function bumpPruneGeneration(kv: KV, repoId: string): Promise<void> {
  await kv.put(keyOf(repoId), `${Date.now()}-${Math.random().toString(36).slice(2, 10)}`);
}

/**
 * Remembers the value last seen; changed() is true once per new value, and
 * on the first read if any prune ever ran (the index may predate it).
 */
export class PruneGeneration {
  readonly #repoId: string;
  #seen: string | undefined;
  #first = true;

  constructor(repoId: string) {
    this.#repoId = repoId;
  }

  async changed(kv: KV): Promise<boolean> {
    const e = await kv.get(keyOf(this.#repoId));
    const now = e && e.operation === 'PUT' ? e.string() : undefined;
    const changed = this.#first ? now !== undefined : now !== this.#seen;
    this.#first = false;
    this.#seen = now;
    return changed;
  }
}
