/**
 * The object-level steps of a sync (sync.ts): which source objects the
 * destination lacks, and copying them, verified, several at a time.
 */
import type { ObjectInfo, Storage } from '../storage/storage.ts';
import { sha256, toHex } from './ids.ts';
import { idOfName, Prefix } from './layout.ts';
import { SyncError, SyncErrorCode } from './sync-errors.ts';

export interface SyncCounts {
  /** Objects (and their bytes) this run saved at the destination. */
  copied: number;
  copiedBytes: number;
  /** Objects the destination already held under the same name with the same size; not read. */
  skipped: number;
  skippedBytes: number;
  /** Source objects whose names are not part of the repository layout; never copied. */
  ignored: number;
}

export const zeroCounts = (): SyncCounts => ({ copied: 0, copiedBytes: 0, skipped: 0, skippedBytes: 0, ignored: 0 });

/**
 * The names the layout gives each copied prefix (docs/design.md §1). Every
 * one ends in the SHA-256 of the object's bytes, which is what lets the copy
 * be verified without any key; packs sit under the first two digits of it.
 */
const SHAPES: Readonly<Record<string, RegExp>> = {
  [Prefix.keys]: /^keys\/[0-9a-f]{64}$/,
  [Prefix.index]: /^index\/[0-9a-f]{64}$/,
  [Prefix.snapshots]: /^snapshots\/[0-9a-f]{64}$/,
  [Prefix.data]: /^data\/([0-9a-f]{2})\/\1[0-9a-f]{62}$/,
  [Prefix.tree]: /^tree\/([0-9a-f]{2})\/\1[0-9a-f]{62}$/,
};

/** name → size of every object under `prefix`. */
export async function listSizes(storage: Storage, prefix: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for await (const o of storage.list(prefix)) sizes.set(o.name, o.size);
  return sizes;
}

/**
 * The objects of `listed` (all under `prefix`) that `have` (the
 * destination's listing of it) lacks. The others are counted as skipped, or
 * as ignored when their names are not the layout's; a same-named object of
 * another size becomes a problem, and is neither copied nor overwritten.
 */
export async function missingObjects(
  prefix: string,
  listed: AsyncIterable<ObjectInfo> | Iterable<ObjectInfo>,
  have: ReadonlyMap<string, number>,
  counts: SyncCounts,
  problems: SyncError[],
): Promise<ObjectInfo[]> {
  const shape = SHAPES[prefix];
  if (shape === undefined) throw new RangeError(`sync copies no objects under ${JSON.stringify(prefix)}`);
  const missing: ObjectInfo[] = [];
  for await (const o of listed) {
    const size = have.get(o.name);
    if (!shape.test(o.name)) counts.ignored++;
    else if (size === undefined) missing.push(o);
    else if (size === o.size) {
      counts.skipped++;
      counts.skippedBytes += size;
    } else {
      problems.push(
        new SyncError(
          SyncErrorCode.SizeMismatch,
          `${o.name} is ${size} bytes at the destination but ${o.size} at the source, so one of them is damaged; it was left as it is. Run \`ferry check --read-data\` on both, remove the damaged copy from the destination (or repair the source), and run sync again`,
          { details: { name: o.name, sourceSize: o.size, destinationSize: size } },
        ),
      );
    }
  }
  return missing;
}

export interface CopyContext {
  readonly source: Storage;
  readonly destination: Storage;
  readonly lanes: number;
  readonly counts: SyncCounts;
  /** Called after each object is copied. */
  readonly onCopied: () => void;
}

/**
 * Copies `objects` in `ctx.lanes` lanes, each holding one object at a time.
 * A damaged object (see copyVerified) is added to `problems` and the rest
 * go on; any other error stops the lanes from taking more, and is thrown
 * once the copies in flight have settled.
 */
export async function copyObjects(ctx: CopyContext, objects: readonly ObjectInfo[], problems: SyncError[]): Promise<void> {
  let next = 0;
  let failure: { readonly error: unknown } | undefined;
  const lane = async () => {
    while (failure === undefined && next < objects.length) {
      const o = objects[next++]!;
      try {
        const outcome = await copyVerified(ctx.source, ctx.destination, o.name);
        if (outcome instanceof SyncError) {
          problems.push(outcome);
          continue;
        }
        ctx.counts.copied++;
        ctx.counts.copiedBytes += outcome;
        ctx.onCopied();
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(ctx.lanes, objects.length) }, lane));
  if (failure !== undefined) throw failure.error;
}

/**
 * Loads `name`, checks that its bytes hash to the ID it is named by, saves
 * it and checks the size the destination then reports. Returns the bytes
 * copied, or the problem found (nothing is saved for a damaged source).
 */
async function copyVerified(source: Storage, destination: Storage, name: string): Promise<number | SyncError> {
  const bytes = await source.load(name);
  const hex = toHex(sha256(bytes));
  if (hex !== idOfName(name)) {
    return new SyncError(
      SyncErrorCode.CorruptSource,
      `${name} at the source does not match its ID (its SHA-256 is ${hex}): the source copy is damaged, and it was not copied. Run \`ferry check --read-data\` on the source`,
      { details: { name, sha256: hex } },
    );
  }
  await destination.save(name, bytes);
  const { size } = await destination.stat(name);
  if (size !== bytes.length) {
    return new SyncError(
      SyncErrorCode.BadCopy,
      `${name} was saved at the destination with ${bytes.length} bytes, which now reports ${size}; remove it from the destination and run sync again`,
      { details: { name, sent: bytes.length, stored: size } },
    );
  }
  return bytes.length;
}
