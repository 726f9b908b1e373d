/* skiplist.c -- see skiplist.h for the concurrency contract and invariants S1-S3.
 *
 * Search walks from the head's top level rightwards while the next node sorts before the target
 * and drops a level otherwise, recording the last node per level (the splice points for insert).
 * Insert links bottom-up: at each level the new node's own link is set before the predecessor's
 * release-store publishes it, so a reader never follows a link into an unfilled node. Backward
 * moves use the same walk, stopping at the last node before (or at) the target: prev is a search
 * for the current entry, O(log n) instead of next's single load. */
#include "skiplist.h"

#include "util/err.h"

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* A node with `height` links followed by `extra` bytes of inline entry room. */
static st_skiplist_node *new_node(st_arena *a, const uint8_t *entry, int height, size_t extra) {
    size_t links = (size_t)height * sizeof(_Atomic(st_skiplist_node *));
    if (extra > SIZE_MAX / 2) return NULL;
    st_skiplist_node *n = st_arena_alloc(a, sizeof *n + links + extra);
    if (!n) return NULL;
    n->entry = entry;
    for (int i = 0; i < height; i++) atomic_init(&n->next[i], NULL);
    return n;
}

int st_skiplist_init(st_skiplist *sl, st_arena *arena, st_skiplist_cmp cmp,
                     st_skiplist_key_cmp key_cmp) {
    sl->cmp = cmp;
    sl->key_cmp = key_cmp;
    sl->arena = arena;
    sl->rng = 0xdeadbeefcafef00dull;
    atomic_init(&sl->max_height, 1);
    sl->head = new_node(arena, NULL, ST_SKIPLIST_MAX_HEIGHT, 0);
    sl->reserved = NULL;
    sl->reserved_height = 0;
    if (!sl->head) return st_err(ST_ENOMEM, "skiplist: out of memory for head");
    return 0;
}

/* P(height > h) = 4^-h: two bits of the draw per level, high bits first (the multiply in
 * xorshift64* and in the seed mixers leaves the low ones weakest). */
int st_skiplist_height_from(uint64_t r) {
    r >>= 32;
    int h = 1;
    while (h < ST_SKIPLIST_MAX_HEIGHT && (r & 3) == 0) {
        h++;
        r >>= 2;
    }
    return h;
}

static int random_height(st_skiplist *sl) {
    uint64_t s = sl->rng;
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    sl->rng = s;
    return st_skiplist_height_from(s * 0x2545f4914f6cdd1dull);
}

static ALWAYS_INLINE int node_cmp(const st_skiplist *sl, const st_skiplist_node *n,
                                  const void *target, bool by_key) {
    return by_key ? sl->key_cmp(n->entry, target) : sl->cmp(n->entry, (const uint8_t *)target);
}

/* First node >= target, or NULL. With prev, prev[i] is the last node < target at level i for
 * every level below the current max height. */
static ALWAYS_INLINE st_skiplist_node *find_ge(const st_skiplist *sl, const void *target,
                                               bool by_key, st_skiplist_node **prev) {
    st_skiplist_node *x = sl->head;
    int level = atomic_load_explicit(&sl->max_height, memory_order_relaxed) - 1;
    /* A node already found >= target one level up: meeting it again needs no comparison. */
    const st_skiplist_node *known_ge = NULL;
    for (;;) {
        st_skiplist_node *next = atomic_load_explicit(&x->next[level], memory_order_acquire);
        if (next && next != known_ge && node_cmp(sl, next, target, by_key) < 0) {
            x = next;
            continue;
        }
        if (prev) prev[level] = x;
        if (level == 0) return next;
        known_ge = next;
        level--;
    }
}

/* Last node < target (or_equal: <= target), or NULL when there is none. The same walk as find_ge,
 * returning where it stops instead of the node after it. */
static ALWAYS_INLINE st_skiplist_node *find_before(const st_skiplist *sl, const void *target, bool by_key,
                                                   bool or_equal) {
    st_skiplist_node *x = sl->head;
    int level = atomic_load_explicit(&sl->max_height, memory_order_relaxed) - 1;
    const st_skiplist_node *known_after = NULL; /* found beyond the target one level up */
    for (;;) {
        st_skiplist_node *next = atomic_load_explicit(&x->next[level], memory_order_acquire);
        if (next && next != known_after) {
            int c = node_cmp(sl, next, target, by_key);
            if (c < 0 || (or_equal && c == 0)) {
                x = next;
                continue;
            }
        }
        if (level == 0) return x == sl->head ? NULL : x;
        known_after = next;
        level--;
    }
}

/* Links n (entry set, links unset) at its place; safe against other linkers running at once.
 *
 * One search records, per level, the last node before n (prev). Then, bottom-up, each level is
 * linked with a compare-and-swap on prev's link: n's own link is set to the successor seen, and
 * the CAS publishes n only if that successor is still prev's (release: n's entry and link are
 * written first). When another linker got in between, the level is searched again forwards from
 * prev, which still sorts before n since nodes are never removed (S1). Linking level 0 first keeps
 * every level-i list a subsequence of level i-1's (S3) at every instant a reader can observe. */
static void link_node(st_skiplist *sl, st_skiplist_node *n, int height) {
    st_skiplist_node *prev[ST_SKIPLIST_MAX_HEIGHT];
    /* find_ge fills prev below the height it starts from; above it the head comes before n. */
    for (int i = 0; i < height; i++) prev[i] = sl->head;
    st_skiplist_node *x = find_ge(sl, n->entry, false, prev);
    ST_DASSERT(x == NULL || sl->cmp(x->entry, n->entry) != 0);
    (void)x;
    int max = atomic_load_explicit(&sl->max_height, memory_order_relaxed);
    while (height > max &&
           !atomic_compare_exchange_weak_explicit(&sl->max_height, &max, height, memory_order_relaxed,
                                                  memory_order_relaxed)) {
        /* Relaxed is enough: a reader seeing the new height before the head links finds NULL
         * or a smaller node there and drops a level; one seeing the old height starts lower. */
    }
    for (int i = 0; i < height; i++) {
        st_skiplist_node *p = prev[i];
        for (;;) {
            st_skiplist_node *succ = atomic_load_explicit(&p->next[i], memory_order_acquire);
            if (succ && sl->cmp(succ->entry, n->entry) < 0) { /* another linker got in before n */
                p = succ;
                continue;
            }
            atomic_store_explicit(&n->next[i], succ, memory_order_relaxed);
            if (atomic_compare_exchange_weak_explicit(&p->next[i], &succ, n, memory_order_release,
                                                      memory_order_relaxed))
                break;
        }
    }
}

int st_skiplist_insert(st_skiplist *sl, const uint8_t *entry) {
    int height = random_height(sl);
    st_skiplist_node *n = new_node(sl->arena, entry, height, 0);
    if (!n) return st_err(ST_ENOMEM, "skiplist: out of memory for node");
    link_node(sl, n, height);
    return 0;
}

size_t st_skiplist_node_bytes(int height, size_t entry_bytes) {
    size_t n = sizeof(st_skiplist_node) + (size_t)height * sizeof(_Atomic(st_skiplist_node *)) + entry_bytes;
    return (n + 7) & ~(size_t)7;
}

uint8_t *st_skiplist_node_place(void *mem, int height) {
    ST_ASSERT(height >= 1 && height <= ST_SKIPLIST_MAX_HEIGHT);
    st_skiplist_node *n = mem;
    for (int i = 0; i < height; i++) atomic_init(&n->next[i], NULL);
    uint8_t *entry = (uint8_t *)&n->next[height];
    n->entry = entry;
    return entry;
}

void st_skiplist_link_placed(st_skiplist *sl, uint8_t *entry, int height) {
    st_skiplist_node *n =
        (st_skiplist_node *)(void *)(entry - sizeof(st_skiplist_node) - (size_t)height * sizeof(n->next[0]));
    ST_DASSERT(n->entry == entry);
    link_node(sl, n, height);
}

uint8_t *st_skiplist_reserve(st_skiplist *sl, size_t entry_bytes) {
    ST_ASSERT(sl->reserved == NULL);
    int height = random_height(sl);
    st_skiplist_node *n = new_node(sl->arena, NULL, height, entry_bytes);
    if (!n) {
        st_err(ST_ENOMEM, "skiplist: out of memory for a %zu-byte entry", entry_bytes);
        return NULL;
    }
    uint8_t *entry = (uint8_t *)&n->next[height];
    n->entry = entry;
    sl->reserved = n;
    sl->reserved_height = height;
    return entry;
}

void st_skiplist_insert_reserved(st_skiplist *sl) {
    ST_ASSERT(sl->reserved != NULL);
    link_node(sl, sl->reserved, sl->reserved_height);
    sl->reserved = NULL;
}

bool st_skiplist_contains(const st_skiplist *sl, const uint8_t *entry) {
    const st_skiplist_node *x = find_ge(sl, entry, false, NULL);
    return x && sl->cmp(x->entry, entry) == 0;
}

#ifdef ST_DEBUG_INVARIANTS
void st_skiplist_check_invariants(const st_skiplist *sl) {
    for (int level = 0; level < ST_SKIPLIST_MAX_HEIGHT; level++) {
        const st_skiplist_node *below = sl->head;
        const st_skiplist_node *prev = NULL;
        for (const st_skiplist_node *x = atomic_load(&sl->head->next[level]); x;
             x = atomic_load(&x->next[level])) {
            ST_ASSERT(prev == NULL || sl->cmp(prev->entry, x->entry) < 0); /* S3 */
            if (level > 0) { /* x must appear further along level-1 */
                while (below && below != x) below = atomic_load(&below->next[level - 1]);
                ST_ASSERT(below == x);
            }
            prev = x;
        }
    }
}
#endif

void st_skiplist_iter_init(st_skiplist_iter *it, const st_skiplist *sl) {
    it->list = sl;
    it->node = NULL;
}

void st_skiplist_iter_seek_first(st_skiplist_iter *it) {
    it->node = atomic_load_explicit(&it->list->head->next[0], memory_order_acquire);
}

void st_skiplist_iter_seek(st_skiplist_iter *it, const void *key) {
    const st_skiplist *sl = it->list;
    it->node = sl->key_cmp ? find_ge(sl, key, true, NULL) : find_ge(sl, key, false, NULL);
}

void st_skiplist_iter_seek_last(st_skiplist_iter *it) {
    const st_skiplist *sl = it->list;
    st_skiplist_node *x = sl->head;
    int level = atomic_load_explicit(&sl->max_height, memory_order_relaxed) - 1;
    for (;;) {
        st_skiplist_node *next = atomic_load_explicit(&x->next[level], memory_order_acquire);
        if (next) {
            x = next;
        } else if (level == 0) {
            break;
        } else {
            level--;
        }
    }
    it->node = x == sl->head ? NULL : x;
}

void st_skiplist_iter_seek_for_prev(st_skiplist_iter *it, const void *key) {
    const st_skiplist *sl = it->list;
    it->node = sl->key_cmp ? find_before(sl, key, true, true) : find_before(sl, key, false, true);
}

void st_skiplist_iter_prev(st_skiplist_iter *it) {
    it->node = find_before(it->list, it->node->entry, false, false);
}
