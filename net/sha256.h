/* sha256.h -- SHA-256 (FIPS 180-4), for tenant password digests (net/tenant.c).
 * One-shot over up to two buffers (salt then password), so no secret is copied anywhere. */
#ifndef STRATA_NET_SHA256_H
#define STRATA_NET_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES 32

/* out = SHA-256(a || b); either buffer may be empty (NULL with length 0). */
void sha256_2(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[SHA256_BYTES]);

#endif
