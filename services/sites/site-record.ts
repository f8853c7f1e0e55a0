/**
 * A pull site and its targets, as kept in the `ferry-sites` bucket. A site
 * is a customer's system: usually a host reached over SSH, but it may have
 * no SSH login at all (an FTP account, a database reached directly), and
 * then only targets that need no shell on it can be added. Records are
 * data from the wire: `decodeSite` validates every field it returns, and
 * still reads version 1 records (SSH fields flat in the record).
 *
 * Credentials are never in a record in the clear: the SSH key or password,
 * and a database URL that carries a password, are sealed (site-secrets.ts);
 * what is shown is `display`, with the password cut out.
 */
import { createHash } from 'node:crypto';
import { Packr } from 'msgpackr';
import { FerryError } from '../../protocol/errors.ts';
import { isId } from '../../protocol/subjects.ts';

export const TargetKinds = ['directory', 'sftp', 'sqlite', 'postgres', 'mysql', 'ftp', 'wordpress'] as const;
export type TargetKind = (typeof TargetKinds)[number];

export const SiteHealths = ['unknown', 'ok', 'warning', 'failed'] as const;
export type SiteHealth = (typeof SiteHealths)[number];

export interface TargetRecord {
  /** Stable name of the target's staging directory: hex of SHA-256(kind ‖ 0 ‖ display), 16 characters. */
  readonly hash: string;
  readonly kind: TargetKind;
  /** The path or URL without any password: what lists and events show. */
  readonly display: string;
  /** The URL with its password, sealed; only for database and FTP URLs that carry one. */
  readonly sealedUrl?: Uint8Array | undefined;
  /** Dump the database on the site over SSH instead of connecting to it from here. */
  readonly overSsh: boolean;
  readonly addedAt: number;
}

export interface StepResult {
  readonly at: number;
  readonly state: SiteHealth;
  readonly message?: string | undefined;
}

/** How a site is logged in to over SSH. */
export interface SshLogin {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly auth: 'key' | 'password';
  /** The private key or password, sealed to the site-secrets key with `<tenant>.<uuid>` as associated data. */
  readonly secret: Uint8Array;
  /** The pinned host key (`type base64`), set on first contact. */
  readonly hostKey?: string | undefined;
}

/** Targets that run something on the site's shell, so need its SSH login. */
export function needsSsh(t: Pick<TargetRecord, 'kind' | 'overSsh'>): boolean {
  return t.kind === 'directory' || t.kind === 'sftp' || t.kind === 'sqlite' || t.kind === 'wordpress' || t.overSsh;
}

export interface SiteRecord {
  readonly v: 2;
  readonly uuid: string;
  readonly name: string;
  readonly tenant: string;
  /** Absent for a site with no SSH login: FTP and direct database targets only. */
  readonly ssh?: SshLogin | undefined;
  readonly targets: readonly TargetRecord[];
  readonly health: SiteHealth;
  readonly lastPreflight?: StepResult | undefined;
  readonly lastBackup?: StepResult | undefined;
  readonly createdAt: number;
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export function targetHash(kind: TargetKind, display: string): string {
  return createHash('sha256').update(`${kind}\0${display}`).digest('hex').slice(0, 16);
}

/** The key of a site's sealed secrets: what they are bound to. */
export function secretKeyOf(site: Pick<SiteRecord, 'tenant' | 'uuid'>): string {
  return `${site.tenant}.${site.uuid}`;
}

export function encodeSite(site: SiteRecord): Uint8Array {
  return packr.pack(site);
}

export function decodeSite(data: Uint8Array, what: string): SiteRecord {
  const bad = (field: string) => new FerryError('site.bad-record', `${what}: field ${field} is missing or malformed`);
  let v: Record<string, unknown>;
  try {
    v = packr.unpack(data) as Record<string, unknown>;
  } catch (cause) {
    throw new FerryError('site.bad-record', `${what} is not valid MessagePack`, { cause });
  }
  if (v === null || typeof v !== 'object' || (v.v !== 1 && v.v !== 2)) throw bad('v');
  const step = (k: string): StepResult | undefined => {
    const s = v[k] as Record<string, unknown> | undefined;
    if (s === undefined || s === null) return undefined;
    if (typeof s.at !== 'number' || !SiteHealths.includes(s.state as SiteHealth)) throw bad(k);
    return { at: s.at, state: s.state as SiteHealth, message: typeof s.message === 'string' ? s.message : undefined };
  };
  if (!isId(v.uuid)) throw bad('uuid');
  if (!isId(v.name)) throw bad('name');
  if (!isId(v.tenant)) throw bad('tenant');
  // Version 1 kept the SSH login's fields in the record itself; every version 1 site had one.
  const login = v.v === 1 ? v : (v.ssh as Record<string, unknown> | undefined | null);
  const ssh = login === undefined || login === null ? undefined : decodeLogin(login, (f) => bad(v.v === 1 ? f : `ssh.${f}`));
  if (!Array.isArray(v.targets)) throw bad('targets');
  const targets = v.targets.map((t: Record<string, unknown>, i): TargetRecord => {
    if (typeof t !== 'object' || t === null || typeof t.hash !== 'string' || !TargetKinds.includes(t.kind as TargetKind) || typeof t.display !== 'string') throw bad(`targets[${i}]`);
    if (t.sealedUrl !== undefined && t.sealedUrl !== null && !(t.sealedUrl instanceof Uint8Array)) throw bad(`targets[${i}].sealedUrl`);
    return { hash: t.hash, kind: t.kind as TargetKind, display: t.display, sealedUrl: (t.sealedUrl as Uint8Array | undefined) ?? undefined, overSsh: t.overSsh === true, addedAt: Number(t.addedAt) || 0 };
  });
  if (!SiteHealths.includes(v.health as SiteHealth)) throw bad('health');
  return {
    v: 2,
    uuid: v.uuid,
    name: v.name,
    tenant: v.tenant,
    ssh,
    targets,
    health: v.health as SiteHealth,
    lastPreflight: step('lastPreflight'),
    lastBackup: step('lastBackup'),
    createdAt: Number(v.createdAt) || 0,
  };
}

function decodeLogin(v: Record<string, unknown>, bad: (field: string) => Error): SshLogin {
  if (typeof v !== 'object') throw bad('ssh');
  const str = (k: string) => {
    if (typeof v[k] !== 'string' || v[k] === '') throw bad(k);
    return v[k] as string;
  };
  if (!Number.isInteger(v.port) || (v.port as number) < 1 || (v.port as number) > 65535) throw bad('port');
  if (v.auth !== 'key' && v.auth !== 'password') throw bad('auth');
  if (!(v.secret instanceof Uint8Array)) throw bad('secret');
  if (v.hostKey !== undefined && v.hostKey !== null && typeof v.hostKey !== 'string') throw bad('hostKey');
  return { host: str('host'), port: v.port as number, user: str('user'), auth: v.auth, secret: v.secret, hostKey: (v.hostKey as string | undefined) ?? undefined };
}
