#include "cdc.h"

static uint32_t top_bits(unsigned bits) { return bits >= 32 ? 0xFFFFFFFFu : ~(0xFFFFFFFFu >> bits); }

void cdc_init_masks(cdc_params *p) {
  unsigned bits = 0;
  while (((size_t)1 << (bits + 1)) <= p->avg_size) bits++;
  p->mask_s = top_bits(bits + 2);
  p->mask_l = top_bits(bits - 2);
}

static size_t min_z(size_t a, size_t b) { return a < b ? a : b; }

size_t cdc_find_cut(const cdc_params *p, const uint8_t *data, size_t start, size_t end, int eof, size_t from) {
  size_t n = end - start;
  int complete = eof || n >= p->max_size;
  if (n <= p->min_size) return complete ? n : 0;
  size_t normal = start + min_z(p->avg_size, n);
  size_t limit = start + min_z(p->max_size, n);
  size_t skip = start + p->min_size;
  size_t i = from > skip ? from : skip;
  /* The hash at a byte depends on it and the 31 before it only: rebuild it from those when resuming. */
  uint32_t h = 0;
  for (size_t k = i >= skip + 31 ? i - 31 : skip; k < i; k++) h = (h << 1) + p->gear[data[k]];
  for (; i < normal; i++) {
    h = (h << 1) + p->gear[data[i]];
    if ((h & p->mask_s) == 0) return i - start + 1;
  }
  for (; i < limit; i++) {
    h = (h << 1) + p->gear[data[i]];
    if ((h & p->mask_l) == 0) return i - start + 1;
  }
  return complete ? limit - start : 0;
}
