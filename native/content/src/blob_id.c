#include "blob_id.h"
#include <string.h>

void blob_id_key_init(blob_id_key *k, const uint8_t *key, size_t key_len) {
  uint8_t block[64] = {0};
  if (key_len > 64) SHA256(key, key_len, block); /* HMAC: a key longer than the block is hashed first */
  else memcpy(block, key, key_len);
  uint8_t pad[64];
  for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x36;
  SHA256_Init(&k->inner);
  SHA256_Update(&k->inner, pad, 64);
  for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x5c;
  SHA256_Init(&k->outer);
  SHA256_Update(&k->outer, pad, 64);
}

void blob_id(const blob_id_key *k, const uint8_t *data, size_t n, uint8_t out[32]) {
  SHA256_CTX c = k->inner;
  uint8_t inner[32];
  SHA256_Update(&c, data, n);
  SHA256_Final(inner, &c);
  c = k->outer;
  SHA256_Update(&c, inner, 32);
  SHA256_Final(out, &c);
}
