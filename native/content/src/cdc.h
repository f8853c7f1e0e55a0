/*
 * FastCDC cut search, bit for bit the algorithm of services/repo/chunker.ts
 * (PART OF THE ON-DISK FORMAT: see the description there). The tests in
 * services/repo/native-content.test.ts compare both on the same inputs.
 */
#ifndef FERRY_CDC_H
#define FERRY_CDC_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint32_t gear[256];
  size_t min_size, avg_size, max_size;
  uint32_t mask_s, mask_l;
} cdc_params;

/* Fills the masks from avg_size (a power of two, 2^3..2^30, checked by the caller). */
void cdc_init_masks(cdc_params *p);

/*
 * Length of the chunk that starts at `start`, given data[start, end); as
 * findCut() in chunker.ts: 0 means "not decided yet: supply more data"
 * (only without eof), and `from` resumes a search at the previous end.
 */
size_t cdc_find_cut(const cdc_params *p, const uint8_t *data, size_t start, size_t end, int eof, size_t from);

#endif
