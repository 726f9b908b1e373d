/* arena.c -- bump allocation out of a singly linked list of malloc'ed blocks (LevelDB util/arena).
 *
 * The current block is carved from [ptr, end); a request that does not fit starts a new block and
 * abandons the old tail, which is why requests over block/4 get a dedicated block instead: they
 * would otherwise waste up to a quarter of a block each. Dedicated blocks are linked behind the
 * current one so the current block keeps serving small requests. */
#include "arena.h"

#include <sys/mman.h>

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/err.h"

#define ALIGN 8

#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_BLOCK_MIN ((size_t)1 << 20)

struct block {
    struct block *next;
    alignas(ALIGN) unsigned char data[];
};

struct st_arena {
    unsigned char *ptr;      /* next free byte of the current block; 8-aligned (A1) */
    size_t left;             /* bytes free after ptr in the current block */
    struct block *blocks;    /* every block, newest-first except dedicated ones (see new_block) */
    size_t block_bytes;      /* payload bytes of a normal block */
    _Atomic size_t bytes;    /* A2; written by the allocating thread only */
};

int st_arena_new(size_t block_bytes, st_arena **out) {
    *out = NULL;
    if (block_bytes < ST_ARENA_MIN_BLOCK || block_bytes > SIZE_MAX / 2)
        return st_err(ST_EINVAL, "arena: block_bytes %zu out of range", block_bytes);
    st_arena *a = calloc(1, sizeof *a);
    if (!a) return st_err(ST_ENOMEM, "arena: out of memory");
    a->block_bytes = (block_bytes + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (a->block_bytes + sizeof(struct block) >= HUGE_BLOCK_MIN) /* whole huge pages, header included */
        a->block_bytes = ((a->block_bytes + sizeof(struct block) + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1)) -
                         sizeof(struct block);
    atomic_init(&a->bytes, 0);
    *out = a;
    return 0;
}

void st_arena_free(st_arena *a) {
    if (!a) return;
    struct block *b = a->blocks;
    while (b) {
        struct block *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}

/* Links a new block of n payload bytes. A dedicated block goes second in the list so the head
 * stays the current block; the list order matters only for freeing. */
static struct block *new_block(st_arena *a, size_t n, bool dedicated) {
    size_t total = sizeof(struct block) + n;
    struct block *b;
    if (!dedicated && total % HUGE_PAGE == 0) {
        /* Memtable lookups are a chain of dependent loads across the whole arena: with 4 KiB
         * pages nearly every one is also a TLB miss. Big blocks go on 2 MiB-aligned memory the
         * kernel may back with huge pages (THP "madvise" mode). */
        void *p = NULL;
        if (posix_memalign(&p, HUGE_PAGE, total) != 0) return NULL;
        madvise(p, total, MADV_HUGEPAGE);
        b = p;
    } else {
        b = malloc(total);
    }
    if (!b) return NULL;
    if (dedicated && a->blocks) {
        b->next = a->blocks->next;
        a->blocks->next = b;
    } else {
        b->next = a->blocks;
        a->blocks = b;
    }
    /* Single writer: a plain load + store avoids a locked RMW; readers only need atomicity. */
    size_t cur = atomic_load_explicit(&a->bytes, memory_order_relaxed);
    atomic_store_explicit(&a->bytes, cur + total, memory_order_relaxed);
    return b;
}

static void *alloc_slow(st_arena *a, size_t n) {
    if (n > a->block_bytes / 4) {
        struct block *b = new_block(a, n, true);
        return b ? b->data : NULL;
    }
    struct block *b = new_block(a, a->block_bytes, false);
    if (!b) return NULL;
    a->ptr = b->data + n;
    a->left = a->block_bytes - n;
    return b->data;
}

void *st_arena_alloc(st_arena *a, size_t n) {
    if (n > SIZE_MAX / 2) return NULL; /* rounding and header would overflow */
    n = n ? (n + ALIGN - 1) & ~(size_t)(ALIGN - 1) : ALIGN;
    if (a->left >= n) {
        void *p = a->ptr;
        a->ptr += n;
        a->left -= n;
        return p;
    }
    return alloc_slow(a, n);
}

size_t st_arena_bytes(const st_arena *a) {
    return atomic_load_explicit(&a->bytes, memory_order_relaxed);
}
