/**
 * A small reader for validating decoded message bodies without a schema
 * library. `Fields` wraps one untrusted value that must be a plain map; each
 * accessor reads one field, checks it, and returns it typed, or throws
 * `protocol.invalid` with details {kind, field}. Validators build a fresh
 * object from the accessors, so unknown fields are dropped and nothing from
 * the input's prototype chain survives.
 */
import { ProtocolError, ProtocolErrorCode, type WireError } from './errors.ts';
import { ID_PATTERN } from './subjects.ts';

const MAX_ID = 64;
/** Generous cap on free-text and name fields; a body is at most 8 MiB anyway. */
const MAX_STRING = 1 << 20;

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export class Fields {
  readonly #kind: string;
  readonly #obj: Record<string, unknown>;
  readonly #path: string;

  constructor(kind: string, value: unknown, path = '') {
    this.#kind = kind;
    this.#path = path;
    if (!isPlainObject(value)) this.fail(path || '(body)', 'must be a map');
    this.#obj = value;
  }

  fail(field: string, why: string): never {
    throw new ProtocolError(ProtocolErrorCode.Invalid, `${this.#kind}: ${field} ${why}`, {
      details: { kind: this.#kind, field },
    });
  }

  #name(field: string): string {
    return this.#path ? `${this.#path}.${field}` : field;
  }

  #get(field: string): unknown {
    return Object.hasOwn(this.#obj, field) ? this.#obj[field] : undefined;
  }

  /** True when the field is absent or nil (other encoders write nil for "absent"). */
  absent(field: string): boolean {
    const v = this.#get(field);
    return v === undefined || v === null;
  }

  str(field: string, opts: { max?: number; nonEmpty?: boolean } = {}): string {
    const v = this.#get(field);
    if (typeof v !== 'string') this.fail(this.#name(field), 'must be a string');
    if (opts.nonEmpty && v.length === 0) this.fail(this.#name(field), 'must not be empty');
    if (v.length > (opts.max ?? MAX_STRING)) this.fail(this.#name(field), `must be at most ${opts.max ?? MAX_STRING} characters`);
    return v;
  }

  /** An ID that may end up in a subject, KV key or path. */
  id(field: string): string {
    const v = this.str(field, { max: MAX_ID });
    if (!ID_PATTERN.test(v)) this.fail(this.#name(field), `must match ${ID_PATTERN.source}`);
    return v;
  }

  optStr(field: string): string | undefined {
    return this.absent(field) ? undefined : this.str(field, { nonEmpty: true });
  }

  /** A non-negative safe integer: counts, sequence numbers, ms timestamps. */
  count(field: string): number {
    const v = this.#get(field);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      this.fail(this.#name(field), 'must be a non-negative safe integer');
    }
    return v;
  }

  bool(field: string): boolean {
    const v = this.#get(field);
    if (typeof v !== 'boolean') this.fail(this.#name(field), 'must be a boolean');
    return v;
  }

  oneOf<T extends string>(field: string, values: readonly T[]): T {
    const v = this.#get(field);
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.fail(this.#name(field), `must be one of ${values.join(', ')}`);
    }
    return v as T;
  }

  strings(field: string): string[] {
    const v = this.#get(field);
    if (!Array.isArray(v)) this.fail(this.#name(field), 'must be an array of strings');
    return v.map((s: unknown, i) => {
      if (typeof s !== 'string' || s.length > MAX_STRING) this.fail(`${this.#name(field)}[${i}]`, 'must be a string');
      return s;
    });
  }

  /** An array whose elements a later layer validates. */
  array(field: string): unknown[] {
    const v = this.#get(field);
    if (!Array.isArray(v)) this.fail(this.#name(field), 'must be an array');
    return [...v];
  }

  /** A map with string keys whose values a later layer interprets. */
  map(field: string): Record<string, unknown> {
    const v = this.#get(field);
    if (!isPlainObject(v)) this.fail(this.#name(field), 'must be a map');
    return { ...v };
  }

  stringMap(field: string): Record<string, string> {
    const m = this.map(field);
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(m)) {
      if (typeof val !== 'string') this.fail(`${this.#name(field)}.${k}`, 'must be a string');
      out[k] = val;
    }
    return out;
  }

  bytes(field: string): Uint8Array {
    const v = this.#get(field);
    if (!(v instanceof Uint8Array)) this.fail(this.#name(field), 'must be binary');
    // msgpackr hands out Buffers; expose a plain view of the same bytes.
    return v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }

  /** A nested map read with its own Fields, reporting dotted field names. */
  nested(field: string): Fields {
    return new Fields(this.#kind, this.#get(field), this.#name(field));
  }

  wireError(field: string): WireError {
    const e = this.nested(field);
    const details = e.map('details');
    for (const [k, v] of Object.entries(details)) {
      const ok = v === null || v === undefined || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
      if (!ok) this.fail(`${this.#name(field)}.details.${k}`, 'must be a string, number, boolean or nil');
    }
    return {
      code: e.str('code', { nonEmpty: true, max: 200 }),
      message: e.str('message'),
      retryable: e.bool('retryable'),
      details: details as WireError['details'],
    };
  }
}

/** Drops undefined members so encoders never see them. */
export function compact<T extends object>(obj: T): T {
  for (const k of Object.keys(obj) as (keyof T)[]) {
    if (obj[k] === undefined) delete obj[k];
  }
  return obj;
}
