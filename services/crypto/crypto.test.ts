import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { open, seal } from './aead.ts';
import { openKeyFile, sealKeyFile, keyFileInfo } from './key-file.ts';
import { generateX25519, openKeyFrom, publicFromPrivate, sealKeyTo } from './x25519.ts';
import { KeyKind, newTenantKeys, writerKeys, requirePrivateKey } from './tenant-keys.ts';
import { checkKdfParams, MAX_KDF_LANES, MAX_KDF_MEMORY_MIB, newKdfParams } from './kdf.ts';

const keys = () => newTenantKeys('r'.repeat(32), generateX25519, (n) => randomBytes(n));

describe('aead', () => {
  it('round-trips and rejects any altered byte or wrong aad', () => {
    const key = randomBytes(32);
    const sealed = seal(key, Buffer.from('secret'), Buffer.from('aad'));
    expect(Buffer.from(open(key, sealed, Buffer.from('aad'))).toString()).toBe('secret');
    for (const i of [0, 12, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[i]! ^= 1;
      expect(() => open(key, bad, Buffer.from('aad'))).toThrow(expect.objectContaining({ code: 'crypto.auth' }));
    }
    expect(() => open(key, sealed, Buffer.from('other'))).toThrow(expect.objectContaining({ code: 'crypto.auth' }));
    expect(() => open(key, sealed.subarray(0, 10), Buffer.from('aad'))).toThrow(expect.objectContaining({ code: 'crypto.auth' }));
  });
});

describe('x25519 sealing', () => {
  it('derives the same key from the public side and the private side', () => {
    const tenant = generateX25519();
    expect(Buffer.from(publicFromPrivate(tenant.privateKey)).equals(tenant.publicKey)).toBe(true);
    const { epk, key } = sealKeyTo(tenant.publicKey, 'info');
    expect(Buffer.from(openKeyFrom(tenant, epk, 'info')).equals(key)).toBe(true);
    expect(Buffer.from(openKeyFrom(generateX25519(), epk, 'info')).equals(key)).toBe(false);
  });
});

describe('key files', () => {
  it('open with the right passphrase only', async () => {
    const k = keys();
    const file = await sealKeyFile(k, 'pw', { host: 'h', kdfMemoryMiB: 1 });
    expect(keyFileInfo(file)).toMatchObject({ kind: 'owner', host: 'h' });
    const opened = await openKeyFile(file, 'pw');
    expect(Buffer.from(opened.privateKey!).equals(k.privateKey!)).toBe(true);
    await expect(openKeyFile(file, 'nope')).rejects.toMatchObject({ code: 'crypto.wrong-passphrase' });
  });

  it('writer keys carry no private key and cannot read content', async () => {
    const w = writerKeys(keys());
    const opened = await openKeyFile(await sealKeyFile(w, 'pw', { host: 'h', kdfMemoryMiB: 1 }), 'pw');
    expect(opened.kind).toBe(KeyKind.Writer);
    expect(opened.privateKey).toBeNull();
    expect(() => requirePrivateKey(opened, 'restore')).toThrow(expect.objectContaining({ code: 'crypto.no-private-key' }));
  });

  it('sizes scrypt from memory and rejects nonsense', () => {
    expect(newKdfParams(128).N).toBe(2 ** 17);
    expect(newKdfParams()).toMatchObject({ N: 2 ** 15, r: 8, p: 2 });
  });

  it('refuses key files whose scrypt parameters are out of range before deriving anything', async () => {
    const file = JSON.parse(Buffer.from(await sealKeyFile(keys(), 'pw', { host: 'h', kdfMemoryMiB: 1 })).toString('utf8')) as { kdf: Record<string, unknown> };
    for (const bad of [{ N: 2 ** 40 }, { N: 3000 }, { N: 1 }, { r: 0 }, { r: 1.5 }, { p: 1e9 }, { p: 0 }, { N: 2 ** 22, r: 16 }]) {
      const hostile = Buffer.from(JSON.stringify({ ...file, kdf: { ...file.kdf, ...bad } }));
      await expect(openKeyFile(hostile, 'pw')).rejects.toMatchObject({ code: 'crypto.bad-format', message: expect.stringContaining('out of range') });
    }
    expect(() => checkKdfParams({ N: 2 ** 22, r: 8, p: MAX_KDF_LANES })).not.toThrow();
    expect(() => checkKdfParams(newKdfParams(MAX_KDF_MEMORY_MIB))).not.toThrow();
    expect(() => newKdfParams(0)).toThrow();
  });
});
