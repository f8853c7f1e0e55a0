/**
 * The wire codec: MessagePack bodies plus two headers that say what the body
 * is, so the `nats` CLI can show it and a reader can refuse what it does not
 * speak before decoding anything.
 *
 * decode() is the one door for untrusted bytes: whatever it is given (any
 * bytes, any headers, none), it returns a validated message or throws a
 * ProtocolError, never anything else.
 */
import { headers as natsHeaders, Match, type MsgHdrs } from '@nats-io/nats-core';
import { Packr } from 'msgpackr';
import { FerryError, ProtocolError, ProtocolErrorCode } from './errors.ts';
import { isMessageKind, Messages, validate, type AnyMessage, type MessageKind, type MessageOf } from './messages.ts';

export const FerryHeaders = {
  ContentType: 'Content-Type',
  FerryType: 'Ferry-Type',
} as const;

export const CONTENT_TYPE_MSGPACK = 'application/msgpack';

// No records extension (plain maps any MessagePack reader understands);
// undefined as nil so optional fields never become msgpackr-only extensions.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, encodeUndefinedAsNil: true });

export interface Encoded {
  readonly data: Uint8Array;
  readonly headers: MsgHdrs;
}

/** `Ferry-Type` value for a kind at its current version, e.g. `job.submit/1`. */
export function ferryType(kind: MessageKind): string {
  return `${kind}/${Messages[kind].version}`;
}

/**
 * Validates and encodes a message. Validation on the way out turns a
 * producer bug into an exception at its source rather than a dead letter at
 * every reader.
 */
export function encode<K extends MessageKind>(kind: K, value: MessageOf<K>): Encoded {
  const checked = validate(kind, value);
  const h = natsHeaders();
  h.set(FerryHeaders.ContentType, CONTENT_TYPE_MSGPACK);
  h.set(FerryHeaders.FerryType, ferryType(kind));
  return { data: packr.pack(checked), headers: h };
}

function header(h: MsgHdrs | undefined, name: string): string | undefined {
  if (h === undefined) return undefined;
  const v = h.get(name, Match.IgnoreCase);
  return v === '' ? undefined : v;
}

/** Parses `Ferry-Type` into a kind this process speaks at the right version. */
function kindOf(h: MsgHdrs | undefined): MessageKind {
  const raw = header(h, FerryHeaders.FerryType);
  const shown = JSON.stringify((raw ?? '').slice(0, 100));
  if (raw === undefined) throw new ProtocolError(ProtocolErrorCode.UnknownKind, 'missing Ferry-Type header');
  const slash = raw.lastIndexOf('/');
  const name = slash < 0 ? raw : raw.slice(0, slash);
  if (!isMessageKind(name)) {
    throw new ProtocolError(ProtocolErrorCode.UnknownKind, `unknown message kind in Ferry-Type ${shown}`, { details: { type: raw.slice(0, 100) } });
  }
  const version = slash < 0 ? '' : raw.slice(slash + 1);
  if (version !== String(Messages[name].version)) {
    throw new ProtocolError(ProtocolErrorCode.BadVersion, `Ferry-Type ${shown}: this process speaks ${ferryType(name)}`, {
      details: { kind: name, version: version.slice(0, 20) },
    });
  }
  return name;
}

/**
 * Checks headers, decodes the body and validates it against the registry.
 * Throws ProtocolError with code bad-content-type, unknown-kind,
 * bad-version, undecodable or invalid.
 */
export function decode(data: Uint8Array, h: MsgHdrs | undefined): AnyMessage {
  try {
    const ct = header(h, FerryHeaders.ContentType);
    if (ct?.split(';')[0]?.trim().toLowerCase() !== CONTENT_TYPE_MSGPACK) {
      throw new ProtocolError(ProtocolErrorCode.BadContentType, `Content-Type must be ${CONTENT_TYPE_MSGPACK}, got ${JSON.stringify((ct ?? '(none)').slice(0, 100))}`);
    }
    const kind = kindOf(h);
    let body: unknown;
    try {
      body = packr.unpack(data);
    } catch (cause) {
      throw new ProtocolError(ProtocolErrorCode.Undecodable, `${kind}: body is not one MessagePack value`, { cause, details: { kind } });
    }
    return { kind, value: validate(kind, body) } as AnyMessage;
  } catch (err) {
    if (err instanceof FerryError) throw err;
    // A validator or header accessor tripping over something exotic (a
    // getter, a stack overflow on deep nesting) is still bad input.
    throw new ProtocolError(ProtocolErrorCode.Undecodable, 'message could not be read', { cause: err });
  }
}

/** Headers as a plain map (repeated values joined with ", ") for dead letters and logs. */
export function headersToRecord(h: MsgHdrs | undefined): Record<string, string> {
  // Null prototype: a header named __proto__ must stay data.
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (h === undefined) return out;
  for (const k of h.keys()) out[k] = h.values(k).join(', ');
  return out;
}
