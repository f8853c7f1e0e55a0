import zlib from 'node:zlib'; import { promisify } from 'node:util'; import { webcrypto, randomBytes, createHmac } from 'node:crypto';
const subtle = webcrypto.subtle; const zc = promisify(zlib.zstdCompress);
const hk = await subtle.importKey('raw', randomBytes(32), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
const ak = await subtle.importKey('raw', randomBytes(32), { name: 'AES-GCM' }, false, ['encrypt']);
for (const size of [4096, 1 << 20]) {
  const d = randomBytes(size); const n = size < 1e5 ? 5000 : 300;
  for (const [name, f] of [['hmac', () => subtle.sign('HMAC', hk, d)], ['aes', () => subtle.encrypt({ name: 'AES-GCM', iv: randomBytes(12) }, ak, d)], ['zstd', () => zc(d, { params: { [zlib.constants.ZSTD_c_compressionLevel]: 3 } })], ['hmacSync', async () => createHmac('sha256', 'k').update(d).digest()]] as const) {
    const t = performance.now(); const c = process.cpuUsage();
    const ps = []; for (let i = 0; i < n; i++) { ps.push((f as any)()); if (ps.length >= 8) await ps.shift(); } await Promise.all(ps);
    const cu = process.cpuUsage(c);
    console.log(size, name, ((performance.now() - t) / n * 1000).toFixed(1), 'us/op wall', ((cu.user + cu.system) / n).toFixed(1), 'us/op cpu');
  }
}
