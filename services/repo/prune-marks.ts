/**
 * Prune marks: the first phase of prune's two-phase delete (design.md,
 * "Prune"). A mark names packs that no snapshot referenced when it was
 * made; they are deleted only by a later sweep, once the grace period has
 * passed and every backup that was running at marking time has ended, and
 * only if they are still unreferenced then. Marks live in the repository
 * (`prune/<id>`, a sealed object of type 4), so every writer sees them
 * whatever NATS it uses: a backup never deduplicates against a marked pack.
 *
 * Payload: `{v: 1, time: int (ns), packs: [str], waitFor: [str], grace: int (ms)}`,
 * each pack by its object name (`data/xx/<id>` or `tree/xx/<id>`).
 */
import { encodeCanonical, decodeMsgpack } from '../codec/canonical-msgpack.ts';
import { RepoError, RepoErrorCode } from './errors.ts';
import { idOfName } from './layout.ts';

const PACK_NAME = /^(data|tree)\/[0-9a-f]{2}\/[0-9a-f]{64}$/;

export interface PruneMark {
  /** Hex ID of the mark object; '' before it is saved. */
  readonly id: string;
  readonly timeNs: bigint;
  /** Object names of the packs proposed for deletion. */
  readonly packs: readonly string[];
  /** Backup jobs that were running when the mark was made: the sweep waits for each to end. */
  readonly waitFor: readonly string[];
  readonly graceMs: number;
}

export function encodePruneMark(m: PruneMark): Uint8Array {
  return encodeCanonical({ v: 1, time: m.timeNs, packs: [...m.packs], waitFor: [...m.waitFor], grace: m.graceMs });
}

export function decodePruneMark(bytes: Uint8Array, name: string): PruneMark {
  const o = decodeMsgpack(bytes, name) as Record<string, unknown>;
  const bad = () => new RepoError(RepoErrorCode.Corrupt, `${name} is not a version 1 prune mark`);
  if (o.v !== 1 || !Array.isArray(o.packs) || !Array.isArray(o.waitFor) || typeof o.grace !== 'number') throw bad();
  if (!o.packs.every((p) => typeof p === 'string' && PACK_NAME.test(p))) throw bad();
  return {
    id: idOfName(name),
    timeNs: BigInt(o.time as number | bigint),
    packs: o.packs as string[],
    waitFor: o.waitFor.map(String),
    graceMs: o.grace,
  };
}
