/** Sealed site credentials and site records read back from the wire. */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../protocol/errors.ts';
import { SiteSecrets, SiteSecretErrorCode } from './site-secrets.ts';
import { decodeSite, encodeSite, type SiteRecord } from './site-record.ts';
import { parseTarget } from './target-spec.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-site-secrets-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('SiteSecrets', () => {
  it('makes a 0600 key file on first use, and opens with it what it sealed for the same record only', async () => {
    const file = join(dir, 'state', 'site-secrets.key');
    const a = await SiteSecrets.load(file, { create: true });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const sealed = a.seal(new TextEncoder().encode('hunter2'), 't.site-1');
    expect(Buffer.from(sealed).includes('hunter2')).toBe(false);
    const again = await SiteSecrets.load(file, { create: false });
    expect(new TextDecoder().decode(again.open(sealed, 't.site-1'))).toBe('hunter2');
    expect(() => again.open(sealed, 't.site-2')).toThrow(expect.objectContaining({ code: SiteSecretErrorCode.SecretUnreadable }));
    const other = await SiteSecrets.load(join(dir, 'other.key'), { create: true });
    expect(() => other.open(sealed, 't.site-1')).toThrow(/not the key they were sealed with/);
  });

  it('names a missing or damaged key file', async () => {
    const missing = await SiteSecrets.load(join(dir, 'nope.key'), { create: false }).catch((e: unknown) => e);
    expect(hasCode(missing, SiteSecretErrorCode.BadKeyFile)).toBe(true);
    await writeFile(join(dir, 'short.key'), 'abc');
    await expect(SiteSecrets.load(join(dir, 'short.key'), { create: false })).rejects.toThrow(/is 3 bytes, not 32/);
  });
});

describe('site records', () => {
  const site: SiteRecord = {
    v: 2, uuid: 'u-1', name: 'web', tenant: 't',
    ssh: { host: 'h', port: 22, user: 'root', auth: 'key', secret: new Uint8Array([1, 2]), hostKey: 'ssh-ed25519 AAAA' },
    targets: [{ hash: '0123456789abcdef', kind: 'directory', display: '/srv', overSsh: false, addedAt: 5 }],
    health: 'unknown', createdAt: 1,
  };

  it('round-trips, and refuses a record with a bad field by naming it', () => {
    expect(decodeSite(encodeSite(site), 'x')).toMatchObject({ name: 'web', targets: [{ kind: 'directory', display: '/srv' }] });
    expect(() => decodeSite(encodeSite({ ...site, ssh: { ...site.ssh!, port: 70000 } }), 'site web')).toThrow(/site web: field ssh.port/);
    expect(() => decodeSite(encodeSite({ ...site, name: 'a/b' }), 'site web')).toThrow(/field name/);
    expect(() => decodeSite(encodeSite({ ...site, targets: [{ ...site.targets[0]!, kind: 'tape' as 'sftp' }] }), 's')).toThrow(/targets\[0\]/);
    expect(() => decodeSite(new Uint8Array([0x85, 0xa1]), 's')).toThrow(/not valid MessagePack/);
  });

  it('reads a site with no SSH login, and a version 1 record with its login flat in the record', () => {
    const { ssh: _, ...bare } = site;
    expect(decodeSite(encodeSite(bare), 'x').ssh).toBeUndefined();
    const v1 = { ...bare, v: 1, ...site.ssh };
    const read = decodeSite(encodeSite(v1 as never), 'x');
    expect(read).toMatchObject({ v: 2, name: 'web', health: 'unknown', targets: [{ kind: 'directory', display: '/srv' }] });
    expect({ ...read.ssh, secret: [...read.ssh!.secret] }).toEqual({ ...site.ssh, secret: [1, 2] });
    expect(() => decodeSite(encodeSite({ ...v1, auth: 'token' } as never), 'site web')).toThrow(/site web: field auth/);
  });

  it('splits a URL\'s password off for sealing and shows the URL without it', () => {
    expect(parseTarget('mysql', 'mysql://root:pw@127.0.0.1:3306/app')).toEqual({ kind: 'mysql', display: 'mysql://root@127.0.0.1:3306/app', secretUrl: 'mysql://root:pw@127.0.0.1:3306/app' });
    expect(parseTarget('postgres', 'postgres://app@db/shop')).toEqual({ kind: 'postgres', display: 'postgres://app@db/shop' });
    expect(parseTarget('ftp', 'ftp://u:p@ftp.example/www').display).toBe('ftp://u@ftp.example/www');
    expect(() => parseTarget('mysql', 'mysql//root:pw@h/app')).toThrow(/is not a URL/);
    expect(() => parseTarget('mysql', 'mysql//root:pw@h/app')).not.toThrow(/pw/);
  });
});
