/**
 * Deterministic randomness for benchmark corpora. The same seed gives the
 * same bytes on every machine and Node version, so figures from two runs
 * describe the same data.
 *
 * `Prng` draws numbers (xorshift128+ on 32-bit halves, so no BigInt per draw);
 * `RandomBytes` produces incompressible bytes fast by running AES-128-CTR over
 * zeros with a key derived from the seed.
 */
import { createCipheriv, createHash } from 'node:crypto';

export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: string) {
    const h = createHash('sha256').update(seed).digest();
    this.s0 = h.readUInt32LE(0) | 1;
    this.s1 = h.readUInt32LE(4);
    this.s2 = h.readUInt32LE(8);
    this.s3 = h.readUInt32LE(12);
  }

  /** xoshiro128** step: a uniformly distributed unsigned 32-bit integer. */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.next() / 0x1_0000_0000) * n);
  }

  /** An integer in [lo, hi], log-uniformly distributed (sizes of real files look like this). */
  logInt(lo: number, hi: number): number {
    const u = this.next() / 0x1_0000_0000;
    return Math.round(Math.exp(Math.log(lo) + u * (Math.log(hi) - Math.log(lo))));
  }

  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export class RandomBytes {
  private readonly cipher;
  private readonly zeros = Buffer.alloc(1024 * 1024);

  constructor(seed: string) {
    const key = createHash('sha256').update(`bytes:${seed}`).digest();
    this.cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  }

  /** `n` fresh pseudo-random bytes. */
  take(n: number): Buffer {
    const parts: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const step = Math.min(left, this.zeros.length);
      parts.push(this.cipher.update(this.zeros.subarray(0, step)));
      left -= step;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}
