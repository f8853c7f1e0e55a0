/**
 * Sites in the `ferry-sites` KV bucket: `<tenant>.s.<uuid>` holds a site's
 * record, `<tenant>.n.<name>` its uuid. A name is claimed with `create`, so
 * of two hosts adding the same name at once exactly one succeeds; records
 * change only through revision-checked updates.
 */
import { randomUUID } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import { FerryError } from '../../protocol/errors.ts';
import { assertId } from '../../protocol/subjects.ts';
import { isWrongRevision } from '../../protocol/kv-revision.ts';
import { decodeSite, encodeSite, type SiteRecord } from './site-record.ts';

export const SiteErrorCode = {
  NotFound: 'site.not-found',
  NameTaken: 'site.name-taken',
  /** Someone else changed the record between our read and write, too often. */
  Contended: 'site.contended',
} as const;

const recordKey = (tenant: string, uuid: string) => `${assertId(tenant, 'tenant')}.s.${assertId(uuid, 'site uuid')}`;
const nameKey = (tenant: string, name: string) => `${assertId(tenant, 'tenant')}.n.${assertId(name, 'site name')}`;

export class SiteStore {
  readonly #kv: KV;

  constructor(kv: KV) {
    this.#kv = kv;
  }

  /** A uuid for a new site; add() takes the record made with it. */
  static newUuid(): string {
    return randomUUID();
  }

  async add(site: SiteRecord): Promise<void> {
    try {
      await this.#kv.create(nameKey(site.tenant, site.name), new TextEncoder().encode(site.uuid));
    } catch (err) {
      if (isWrongRevision(err)) throw new FerryError(SiteErrorCode.NameTaken, `a site named ${site.name} exists already; remove it first or choose another name`);
      throw err;
    }
    await this.#kv.put(recordKey(site.tenant, site.uuid), encodeSite(site));
  }

  /** The site of that name or uuid. */
  async get(tenant: string, nameOrUuid: string): Promise<{ site: SiteRecord; revision: number }> {
    const byName = await this.#kv.get(nameKey(tenant, nameOrUuid));
    const uuid = byName && byName.value.length > 0 ? new TextDecoder().decode(byName.value) : nameOrUuid;
    const e = await this.#kv.get(recordKey(tenant, uuid));
    if (!e || e.value.length === 0) throw new FerryError(SiteErrorCode.NotFound, `no site ${nameOrUuid} (see ferry site list)`);
    return { site: decodeSite(e.value, `site ${nameOrUuid}`), revision: e.revision };
  }

  async list(tenant: string): Promise<SiteRecord[]> {
    const out: SiteRecord[] = [];
    for await (const key of await this.#kv.keys(`${assertId(tenant, 'tenant')}.s.*`)) {
      const e = await this.#kv.get(key);
      if (e && e.value.length > 0) out.push(decodeSite(e.value, `site record ${key}`));
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Applies `change` to the current record, retrying when another writer came first. */
  async update(tenant: string, nameOrUuid: string, change: (site: SiteRecord) => SiteRecord): Promise<SiteRecord> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const { site, revision } = await this.get(tenant, nameOrUuid);
      const next = change(site);
      try {
        await this.#kv.update(recordKey(tenant, site.uuid), encodeSite(next), revision);
        return next;
      } catch (err) {
        if (!isWrongRevision(err)) throw err;
      }
    }
    throw new FerryError(SiteErrorCode.Contended, `site ${nameOrUuid} kept changing under this update; try again`, { retryable: true });
  }

  async remove(tenant: string, nameOrUuid: string): Promise<SiteRecord> {
    const { site } = await this.get(tenant, nameOrUuid);
    await this.#kv.delete(recordKey(tenant, site.uuid));
    await this.#kv.delete(nameKey(tenant, site.name));
    return site;
  }
}
