/**
 * Test vectors of the repository format, computed from fixed inputs. The
 * same values are written in docs/design.md ("Test vectors"), and
 * format-vectors.test.ts checks that the document and the code agree.
 * Run `node services/repo/format-vectors.ts` to print them.
 */
import { fileURLToPath } from 'node:url';
import { encodeCanonical } from '../codec/canonical-msgpack.ts';
import { seal } from '../crypto/aead.ts';
import { blobId, HKDF_INFO } from '../crypto/tenant-keys.ts';
import { hkdf32, openKeyFrom, publicFromPrivate, sealKeyTo } from '../crypto/x25519.ts';
import { gearTable } from './gear.ts';
import { chunkLengths } from './chunker.ts';
import { quickXor } from '../hash/quickxor.ts';
import { encodeTree, NodeType } from './tree.ts';
import { testStreamBytes as vectorStream } from './test-stream.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (start: number, n: number) => new Uint8Array(Array.from({ length: n }, (_, i) => (start + i) & 0xff));

export function computeVectors(): Record<string, string> {
  const v: Record<string, string> = {};
  v['msgpack.small'] = hex(encodeCanonical({ v: 1, s: 'ferry', n: -33, b: new Uint8Array([1, 2, 3]), a: [0, 127, 128, 65535, 65536] }));
  v['msgpack.int64'] = hex(encodeCanonical([4294967296, 1700000000123456789n, -2147483649]));

  const seed = bytes(0, 32);
  const gear = gearTable(seed);
  v['gear.first4'] = Array.from(gear.subarray(0, 4), (g) => g.toString(16).padStart(8, '0')).join(' ');
  v['chunker.small'] = chunkLengths(vectorStream(256 * 1024), gear, { minSize: 2048, avgSize: 8192, maxSize: 65536 }).join(' ');
  const stream12 = vectorStream(12 * 1024 * 1024);
  v['chunker.default'] = chunkLengths(stream12, gear, { minSize: 256 * 1024, avgSize: 512 * 1024, maxSize: 2 * 1024 * 1024 }).join(' ');
  v['chunker.1mib'] = chunkLengths(stream12, gear, { minSize: 512 * 1024, avgSize: 1024 * 1024, maxSize: 8 * 1024 * 1024 }).join(' ');

  const idKey = bytes(0x40, 32);
  v['blob-id.abc'] = hex(blobId(idKey, new TextEncoder().encode('abc')));

  const metaKey = bytes(0x80, 32);
  v['object-key'] = hex(hkdf32(metaKey, new Uint8Array(0), HKDF_INFO.object));
  v['tree-pack-key'] = hex(hkdf32(metaKey, bytes(0xa0, 32), HKDF_INFO.treePack));
  v['trailer-key'] = hex(hkdf32(metaKey, bytes(0xa0, 32), HKDF_INFO.packTrailer));

  const tenantPriv = bytes(0x10, 32);
  const tenantPub = publicFromPrivate(tenantPriv);
  const ephPriv = bytes(0x30, 32);
  const eph = { privateKey: ephPriv, publicKey: publicFromPrivate(ephPriv) };
  const sealed = sealKeyTo(tenantPub, HKDF_INFO.dataPack, eph);
  const opened = openKeyFrom({ privateKey: tenantPriv, publicKey: tenantPub }, sealed.epk, HKDF_INFO.dataPack);
  if (hex(opened) !== hex(sealed.key)) throw new Error('data pack key does not round-trip');
  v['tenant-public-key'] = hex(tenantPub);
  v['data-pack-epk'] = hex(sealed.epk);
  v['data-pack-key'] = hex(sealed.key);

  v['aead.seal'] = hex(seal(bytes(0xc0, 32), new TextEncoder().encode('ferry'), new TextEncoder().encode('aad'), bytes(0xe0, 12)));
  v['quickxor.abc'] = hex(quickXor(new TextEncoder().encode('abc')));
  v['quickxor.stream1000'] = hex(quickXor(vectorStream(1000)));

  v['tree.one-file'] = hex(
    encodeTree([
      {
        name: 'a.txt', type: NodeType.File, mode: 0o644, uid: 1000, gid: 1000, size: 3,
        atimeNs: 1700000000000000000n, mtimeNs: 1700000000123456789n, ctimeNs: 1700000000123456789n,
        inode: 42n, device: 2049n, nlink: 1, content: [bytes(0, 32)], hash: -2n,
      },
    ]),
  );
  return v;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [k, val] of Object.entries(computeVectors())) console.log(`${k}: ${val}`);
}
