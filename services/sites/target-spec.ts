/**
 * What a user may give as a target's location, checked before it is
 * stored: an absolute path for file-like kinds, a URL of the right scheme
 * for databases and FTP. A URL's password is split off to be sealed.
 */
import { FerryError } from '../../protocol/errors.ts';
import type { TargetKind } from './site-record.ts';

export interface ParsedTarget {
  readonly kind: TargetKind;
  /** What lists show: the path, or the URL without its password. */
  readonly display: string;
  /** The whole URL, when it carries a password: to be sealed, never shown. */
  readonly secretUrl?: string | undefined;
}

const URL_SCHEMES: Partial<Record<TargetKind, readonly string[]>> = {
  postgres: ['postgres:', 'postgresql:'],
  mysql: ['mysql:', 'mariadb:'],
  ftp: ['ftp:', 'ftps:'],
};

const bad = (message: string) => new FerryError('site.bad-target', message);

export function parseTarget(kind: TargetKind, location: string): ParsedTarget {
  if (location.includes('\0') || location.trim() === '') throw bad(`${kind} target: the location is empty or holds a NUL byte`);
  const schemes = URL_SCHEMES[kind];
  if (schemes === undefined) {
    if (!location.startsWith('/')) throw bad(`${kind} target: ${JSON.stringify(location)} must be an absolute path on the site`);
    return { kind, display: location.length > 1 ? location.replace(/\/+$/, '') : location };
  }
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw bad(`${kind} target: ${JSON.stringify(redactLoosely(location))} is not a URL; use ${schemes[0]}//user:password@host:port/${kind === 'ftp' ? 'path' : 'database'}`);
  }
  if (!schemes.includes(url.protocol)) throw bad(`${kind} target: the URL must start with ${schemes.map((s) => `${s}//`).join(' or ')}, not ${url.protocol}//`);
  if (kind !== 'ftp' && url.pathname.replace(/^\//, '') === '') throw bad(`${kind} target: the URL names no database (…/DBNAME)`);
  if (url.password === '') return { kind, display: url.toString() };
  const shown = new URL(url.toString());
  shown.password = '';
  return { kind, display: shown.toString(), secretUrl: url.toString() };
}

/** For error messages about something that did not even parse as a URL: drop anything between `:` and `@`. */
function redactLoosely(text: string): string {
  return text.replace(/(\/\/[^:/@]*):[^@]*@/, '$1:…@');
}
