/**
 * Retention policies (forget-policy.ts) stored per source in the
 * `ferry-retention` bucket, key `<tenant>.<source>`; a site's policy is
 * its source's, `site-<name>`. Values are JSON `{policy, updatedAt}`,
 * checked when read: a policy that does not check is an error naming the
 * key, never an empty policy (which would forget everything).
 */
import type { KV } from '@nats-io/kv';
import { FerryError } from '../protocol/errors.ts';
import { assertId } from '../protocol/subjects.ts';
import { checkPolicy, type KeepPolicy } from '../services/repo/forget-policy.ts';

export interface StoredPolicy {
  readonly source: string;
  readonly policy: KeepPolicy;
  readonly updatedAt: number;
}

const keyOf = (tenant: string, source: string) => `${assertId(tenant, 'tenant')}.${assertId(source, 'source')}`;

export class RetentionStore {
  readonly #kv: KV;

  constructor(kv: KV) {
    this.#kv = kv;
  }

  async set(tenant: string, source: string, policy: KeepPolicy): Promise<void> {
    checkPolicy(policy);
    await this.#kv.put(keyOf(tenant, source), JSON.stringify({ policy, updatedAt: Date.now() }));
  }

  /** Removes the policy; false when there was none. */
  async remove(tenant: string, source: string): Promise<boolean> {
    const key = keyOf(tenant, source);
    const e = await this.#kv.get(key);
    if (!e || e.operation !== 'PUT') return false;
    await this.#kv.delete(key);
    return true;
  }

  /** Every policy of `tenant`, by source. */
  async list(tenant: string): Promise<StoredPolicy[]> {
    const out: StoredPolicy[] = [];
    for await (const key of await this.#kv.keys(`${assertId(tenant, 'tenant')}.*`)) {
      const e = await this.#kv.get(key);
      if (!e || e.operation !== 'PUT') continue;
      let v: { policy?: KeepPolicy; updatedAt?: number };
      try {
        v = JSON.parse(e.string()) as typeof v;
        checkPolicy(v.policy ?? {});
      } catch (cause) {
        throw new FerryError('retention.bad-policy', `the retention policy stored under ${key} is not valid; set it again with ferry retention set`, { cause });
      }
      out.push({ source: key.slice(key.indexOf('.') + 1), policy: v.policy!, updatedAt: Number(v.updatedAt) || 0 });
    }
    return out.sort((a, b) => a.source.localeCompare(b.source));
  }
}
