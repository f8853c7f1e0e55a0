/*
 * Read side of the known-blobs Bloom filter of services/repo/known-blobs.ts
 * (its comment has the layout and the contract): segments of 2^b bits in
 * shared memory, probed with the ID's eight little-endian 32-bit words.
 * The main thread may set bits meanwhile; a stale "no" costs only a seal.
 */
#ifndef FERRY_KNOWN_FILTER_H
#define FERRY_KNOWN_FILTER_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
  const uint32_t **bits;
  const size_t *words; /* 32-bit words per segment, a power of two */
  size_t count;
} known_filter;

int known_may_have(const known_filter *f, const uint8_t id[32]);

#endif
