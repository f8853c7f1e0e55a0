/**
 * Before a restore reads data packs kept in an archive storage class (S3
 * Glacier or Deep Archive for `data/`, trees and index staying hot), every
 * pack the restore will read is asked to be thawed at once, and the
 * restore waits until all are readable: asking pack by pack as the restore
 * reached them would make it wait the archive's hours once per pack.
 *
 * Contract: returns once every data pack holding a blob of the selected
 * files is readable; calls `onWaiting` before each wait with how many are
 * still thawing; honours `signal` between polls. Does nothing (and reads
 * no tree) when the storage has no archive access. Errors of the storage
 * (refused restore request, missing pack) propagate.
 */
import type { Repository } from './repository.ts';
import { NodeType, type TreeNode } from './tree.ts';
import { walkTree } from './tree-walk.ts';
import { PackKind } from './layout.ts';
import type { ThawTier } from '../storage/storage.ts';

export interface ThawOptions {
  readonly tier: ThawTier;
  /** How long thawed copies stay readable: long enough for the restore to finish. */
  readonly days: number;
  readonly pollMs: number;
  readonly signal?: AbortSignal | undefined;
  readonly onWaiting?: (w: { readonly thawing: number; readonly packs: number; readonly requested: number }) => void;
}

export interface ThawResult {
  /** Data packs the selection reads. */
  readonly packs: number;
  /** Of those, how many had to be thawed. */
  readonly requested: number;
}

/** Checks (and asks for) `items` with at most `lanes` storage calls at once. */
async function eachLimited<T>(items: readonly T[], lanes: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(lanes, items.length) }, lane));
}

/** The data packs `start` (a node of the snapshot) and everything under it read. */
async function packsOf(repo: Repository, start: TreeNode): Promise<string[]> {
  const packs = new Set<string>();
  const add = (node: TreeNode) => {
    for (const id of node.content ?? []) {
      const pack = repo.index.get(id)?.pack;
      if (pack?.kind === PackKind.Data) packs.add(pack.name);
    }
  };
  add(start);
  if (start.type === NodeType.Dir && start.subtree) for await (const { node } of walkTree(repo, start.subtree)) add(node);
  return [...packs];
}

export async function thawForRestore(repo: Repository, start: TreeNode, opts: ThawOptions): Promise<ThawResult> {
  const archive = repo.storage.archive;
  if (!archive) return { packs: 0, requested: 0 };
  const packs = await packsOf(repo, start);
  let waiting: string[] = [];
  await eachLimited(packs, 8, async (name) => {
    const state = await archive.state(name);
    if (state === 'readable') return;
    if (state === 'cold') await archive.request(name, { days: opts.days, tier: opts.tier });
    waiting.push(name);
  });
  const requested = waiting.length;
  while (waiting.length > 0) {
    opts.onWaiting?.({ thawing: waiting.length, packs: packs.length, requested });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, opts.pollMs);
      opts.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(opts.signal!.reason);
      }, { once: true });
    });
    const still: string[] = [];
    await eachLimited(waiting, 8, async (name) => {
      if ((await archive.state(name)) !== 'readable') still.push(name);
    });
    waiting = still;
  }
  return { packs: packs.length, requested };
}
