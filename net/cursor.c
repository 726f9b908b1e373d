/* cursor.c -- see cursor.h. */
#include "cursor.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CURSOR_SLOTS 65536                  /* ring slots; a power of two */
#define CURSOR_BYTES ((size_t)64 << 20) /* resume keys kept at most (older ones are evicted) */

typedef struct scan_cursor {
    uint64_t seq; /* 0: empty */
    ks_ns ns;
    uint8_t *key;
    size_t klen;
} scan_cursor;

/* Cursor id = base + seq; seq counts from 1, and slot[seq % CURSOR_SLOTS] holds the newest. */
static struct {
    pthread_mutex_t mu;
    uint64_t base;
    uint64_t next_seq;
    uint64_t oldest_seq; /* slots below this seq are empty */
    size_t bytes;
    scan_cursor slot[CURSOR_SLOTS];
} cursors = {.mu = PTHREAD_MUTEX_INITIALIZER};

uint64_t cursor_splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t cursor_seed(void) {
    static atomic_uint_fast64_t calls;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t local;
    uint64_t s = ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^ (uint64_t)(uintptr_t)&local ^
                 ((uint64_t)atomic_fetch_add(&calls, 1) << 40);
    return cursor_splitmix64(&s);
}

static void cursor_drop(scan_cursor *c) {
    cursors.bytes -= c->klen;
    free(c->key);
    memset(c, 0, sizeof *c);
}

uint64_t cursor_put(ks_ns ns, const uint8_t *key, size_t klen) {
    uint8_t *copy = malloc(klen ? klen : 1);
    if (!copy) return 0;
    if (klen) memcpy(copy, key, klen);
    pthread_mutex_lock(&cursors.mu);
    if (cursors.next_seq == 0) {
        /* ids stay below 2^62: clients that parse cursors as signed 64-bit integers still work */
        cursors.base = cursor_seed() >> 3;
        cursors.next_seq = cursors.oldest_seq = 1;
    }
    uint64_t seq = cursors.next_seq++;
    scan_cursor *c = &cursors.slot[seq & (CURSOR_SLOTS - 1)];
    if (c->seq) cursor_drop(c);
    *c = (scan_cursor){.seq = seq, .ns = ns, .key = copy, .klen = klen};
    cursors.bytes += klen;
    if (cursors.oldest_seq + CURSOR_SLOTS <= seq) cursors.oldest_seq = seq - CURSOR_SLOTS + 1;
    while (cursors.bytes > CURSOR_BYTES && cursors.oldest_seq < seq) {
        scan_cursor *old = &cursors.slot[cursors.oldest_seq & (CURSOR_SLOTS - 1)];
        if (old->seq == cursors.oldest_seq) cursor_drop(old);
        cursors.oldest_seq++;
    }
    uint64_t id = cursors.base + seq;
    pthread_mutex_unlock(&cursors.mu);
    return id;
}

int cursor_get(uint64_t id, ks_ns ns, uint8_t **key, size_t *klen) {
    int rc = -1;
    *key = NULL;
    *klen = 0;
    pthread_mutex_lock(&cursors.mu);
    if (cursors.next_seq && id > cursors.base && id - cursors.base < cursors.next_seq) {
        uint64_t seq = id - cursors.base;
        const scan_cursor *c = &cursors.slot[seq & (CURSOR_SLOTS - 1)];
        if (c->seq == seq && c->ns.tenant == ns.tenant && c->ns.db == ns.db) {
            *key = malloc(c->klen ? c->klen : 1);
            rc = *key ? 0 : KS_ENOMEM;
            if (*key) {
                if (c->klen) memcpy(*key, c->key, c->klen);
                *klen = c->klen;
            }
        }
    }
    pthread_mutex_unlock(&cursors.mu);
    return rc;
}

bool cursor_parse(const uint8_t *p, size_t n, uint64_t *out) {
    size_t i = 0;
    bool neg = false;
    if (n && (p[0] == '+' || p[0] == '-')) {
        neg = p[0] == '-';
        if (++i == n) return false;
    }
    uint64_t v = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = neg ? (uint64_t)0 - v : v;
    return true;
}

