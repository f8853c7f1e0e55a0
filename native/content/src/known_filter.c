#include "known_filter.h"

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

int known_may_have(const known_filter *f, const uint8_t id[32]) {
  if (f == NULL) return 0;
  for (size_t s = 0; s < f->count; s++) {
    const volatile uint32_t *bits = f->bits[s];
    uint32_t mask = (uint32_t)(f->words[s] * 32 - 1);
    int all = 1;
    for (int k = 0; k < 8 && all; k++) {
      uint32_t b = le32(id + 4 * k) & mask;
      all = (bits[b >> 5] & (1u << (b & 31))) != 0;
    }
    if (all) return 1;
  }
  return 0;
}
