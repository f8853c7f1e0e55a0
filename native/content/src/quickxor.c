#include "quickxor.h"
#include <string.h>

#define WORDS (QX_PERIOD / 8)

void qx_init(quickxor *q, uint64_t offset) {
  memset(q->acc, 0, sizeof q->acc);
  q->length = offset;
}

static inline uint64_t load64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

/* Host-order words loaded from bytes and XORed into host-order words of acc act bytewise, whatever the endianness. */
void qx_update(quickxor *q, const uint8_t *d, size_t n) {
  size_t p = (size_t)(q->length % QX_PERIOD), i = 0;
  while (i < n && (p & 7) != 0) {
    q->acc[p++] ^= d[i++];
    if (p == QX_PERIOD) p = 0;
  }
  uint64_t acc[WORDS];
  memcpy(acc, q->acc, sizeof acc);
  size_t k = p / 8;
  while (i + 8 <= n && k != 0) {
    acc[k] ^= load64(d + i);
    i += 8;
    if (++k == WORDS) k = 0;
  }
  if (k == 0) {
    for (; i + QX_PERIOD <= n; i += QX_PERIOD)
      for (size_t j = 0; j < WORDS; j++) acc[j] ^= load64(d + i + 8 * j);
  }
  for (; i + 8 <= n; i += 8) {
    acc[k] ^= load64(d + i);
    if (++k == WORDS) k = 0;
  }
  memcpy(q->acc, acc, sizeof acc);
  p = k * 8;
  while (i < n) {
    q->acc[p++] ^= d[i++];
    if (p == QX_PERIOD) p = 0;
  }
  q->length += n;
}

void qx_digest(const quickxor *q, uint8_t out[20]) {
  uint32_t reg[5] = {0};
  for (unsigned j = 0; j < QX_PERIOD; j++) {
    uint32_t b = q->acc[j];
    if (b == 0) continue;
    unsigned bit = (j * 11) % QX_PERIOD, word = bit >> 5, shift = bit & 31;
    reg[word] ^= b << shift;
    if (shift > 24) reg[word == 4 ? 0 : word + 1] ^= b >> (32 - shift);
  }
  for (unsigned k = 0; k < 20; k++) out[k] = (uint8_t)(reg[k >> 2] >> ((k & 3) * 8));
  uint64_t len = q->length;
  for (unsigned k = 12; k < 20; k++, len >>= 8) out[k] ^= (uint8_t)len;
}

int64_t qx_hash64(const quickxor *q) {
  uint8_t d[20];
  qx_digest(q, d);
  uint64_t v = 0;
  for (int k = 7; k >= 0; k--) v = (v << 8) | d[k];
  return (int64_t)v;
}
