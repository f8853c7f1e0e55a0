/*
 * QuickXorHash folding, as services/hash/quickxor.ts: input byte k of the
 * stream is XORed into accumulator byte k mod 160; the digest scatters the
 * accumulator into the 160-bit register once. A fold started at stream
 * offset `o` merges into the hash of the rest by XOR (see the TS file).
 */
#ifndef FERRY_QUICKXOR_H
#define FERRY_QUICKXOR_H
#include <stddef.h>
#include <stdint.h>

#define QX_PERIOD 160

typedef struct {
  uint8_t acc[QX_PERIOD];
  uint64_t length; /* stream position after the input so far */
} quickxor;

void qx_init(quickxor *q, uint64_t offset);
void qx_update(quickxor *q, const uint8_t *data, size_t n);
void qx_digest(const quickxor *q, uint8_t out[20]);
/* The first 8 digest bytes as a little-endian signed integer (hash64() in the TS file). */
int64_t qx_hash64(const quickxor *q);

#endif
