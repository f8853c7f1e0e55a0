/**
 * Decoding the repository objects shaped `{ v: 1, [listKey]: [item, …] }`,
 * tree blobs and index files, in place with MsgpackReader. Any damage, and
 * any version but 1, is a RepoError `repo.corrupt` naming the object.
 */
import { readVersionedList, readWhole, type MsgpackReader } from '../codec/msgpack-reader.ts';
import { RepoError, RepoErrorCode } from './errors.ts';

/** `kind` names the object type in errors ("tree", "index"); `what` names this object. */
export function decodeVersion1List<T>(bytes: Uint8Array, listKey: string, readItem: (r: MsgpackReader) => T, kind: string, what: string): T[] {
  const { version, items } = readWhole(
    bytes,
    (r) => readVersionedList(r, listKey, readItem),
    (problem, cause) => new RepoError(RepoErrorCode.Corrupt, `${what} is not a valid ${kind} (${problem})`, { cause }),
  );
  if (version !== 1 || items === undefined) throw new RepoError(RepoErrorCode.Corrupt, `${what} is not a version 1 ${kind}`);
  return items;
}
