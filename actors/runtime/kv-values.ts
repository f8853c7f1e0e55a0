/**
 * MessagePack for values Ferry keeps in KV (job records, checkpoints,
 * leases): the same encoding as messages, so one decoder reads everything
 * Ferry stores in NATS.
 */
import { Packr } from 'msgpackr';
import { RuntimeError, RuntimeErrorCode } from './errors.ts';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, encodeUndefinedAsNil: true });

export function packValue(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Decodes a stored value; `what` names it in the `kv.corrupt` error. */
export function unpackValue(data: Uint8Array, what: string): unknown {
  try {
    return packr.unpack(data);
  } catch (cause) {
    throw new RuntimeError(RuntimeErrorCode.KvCorrupt, `${what} is not valid MessagePack`, { cause, details: { what } });
  }
}
