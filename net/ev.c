/* ev.c -- the event loop (ev.h). Shaped like Redis's ae.c with three changes:
 *  - fds: a table indexed by fd, grown on demand. Each direction of an fd carries a generation
 *    bumped by ev_del; a poll's results are stamped with them, so delivery can tell readiness
 *    collected for a deleted registration from a live one (E2, E3).
 *  - timers: a binary min-heap keyed (deadline_us, seq) over a slot array, instead of ae's linear
 *    list. A timer id is (slot generation << 32 | slot), so ev_timer_del finds its slot in O(1)
 *    and removes it from the heap in O(log n); a reused slot gets a fresh id. Each timer phase
 *    first pops every due timer into a batch of ids, then fires the batch (E5, E6).
 *  - tasks: a lock-free LIFO (push = CAS; the loop takes the whole list with one exchange and
 *    reverses it into post order) plus an eventfd registered as an ordinary file event. Only a
 *    push onto an empty list writes the eventfd; the loop reads the eventfd before taking the
 *    list, so any push it misses wrote the eventfd after that read and wakes the next poll. */
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "ev.h"
#include "ev_backend.h"

/* Always on, for programming errors only (net/ has no engine headers, so not ST_ASSERT). */
#define EV_ASSERT(cond)                                                                  \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                     \
        }                                                                                \
    } while (0)
#ifdef ST_DEBUG_INVARIANTS
#define EV_DASSERT(cond) EV_ASSERT(cond)
#else
#define EV_DASSERT(cond) ((void)0)
#endif

#define EV_RW (EV_READABLE | EV_WRITABLE)
#define MIN_SETSIZE 16
#define TIMER_MAX_MS (1LL << 40)          /* ~35 years: keeps deadline_us far from overflow */
#define TIMER_MAX_DEADLINE_MS (1LL << 50) /* likewise for absolute deadlines */
#define TIMER_MAX_SLOTS (1 << 30)
#define TIMER_GEN_MAX 0x7fffffffLL /* ids stay positive */

struct ev_file {
    int mask;             /* EV_READABLE | EV_WRITABLE | EV_BARRIER; EV_NONE when unregistered */
    unsigned rgen, wgen;  /* bumped when that direction is deleted (E2) */
    ev_file_fn *rfn, *wfn;
    void *rarg, *warg;
};

enum { T_FREE, T_HEAP, T_PENDING, T_RUNNING };

struct ev_timer {
    long long id;           /* gen << 32 | slot; bumped when the slot is freed */
    long long due_us;       /* CLOCK_MONOTONIC */
    unsigned long long seq; /* schedule order: breaks deadline ties */
    ev_timer_fn *fn;
    void *arg;
    int state;              /* T_HEAP: waiting; T_PENDING: in this phase's batch; T_RUNNING */
    int heap_pos;           /* valid in T_HEAP */
    int next_free;          /* free-list link in T_FREE */
};

struct ev_task {
    struct ev_task *next;
    ev_task_fn *fn;
    void *arg;
};

struct ev_loop {
    ev_backend *be;
    struct ev_file *files; /* indexed by fd */
    int nfiles;
    struct ev_fired *fired; /* the last poll's results; resized only before a poll */
    int fired_cap;

    struct ev_timer *timers; /* slots */
    int *heap;               /* slot indices, min-heap by (due_us, seq) */
    long long *batch;        /* ids of the timers due in the current phase */
    int ntimers;             /* slots in use or on the free list */
    int timer_cap;           /* capacity of timers, heap and batch */
    int heap_len;
    int timer_free;          /* free-list head, -1 if empty */
    unsigned long long timer_seq;

    ev_hook_fn *before_sleep, *after_sleep;
    void *before_arg, *after_arg;

    int wake_fd;                    /* eventfd, registered readable with on_wakeup */
    _Atomic(struct ev_task *) tasks; /* LIFO of posted tasks */
    atomic_bool stop;               /* E8 */
    bool in_process;                /* E1: ev_process is not re-entrant */
    int processed;                  /* callbacks run in the current ev_process */
};

/* The loop whose ev_process is running on this thread: lets ev_stop skip the wakeup write from a
 * callback, and lets debug builds catch a callback touching another thread's loop (E1). */
static _Thread_local ev_loop *tl_current;

/* A callback of another loop touching this one breaks E1 (two loops never share a thread). */
#define NOT_IN_OTHER_LOOP(loop) (tl_current == NULL || tl_current == (loop))

static long long now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long ev_now_ms(void) { return now_us() / 1000; }

/* ---- timers ---------------------------------------------------------------------------- */

static bool timer_less(const ev_loop *loop, int a, int b) {
    const struct ev_timer *x = &loop->timers[a], *y = &loop->timers[b];
    return x->due_us < y->due_us || (x->due_us == y->due_us && x->seq < y->seq);
}

static void heap_put(ev_loop *loop, int pos, int slot) {
    loop->heap[pos] = slot;
    loop->timers[slot].heap_pos = pos;
}

static void sift_up(ev_loop *loop, int pos) {
    int s = loop->heap[pos];
    while (pos > 0) {
        int parent = (pos - 1) / 2;
        if (!timer_less(loop, s, loop->heap[parent])) break;
        heap_put(loop, pos, loop->heap[parent]);
        pos = parent;
    }
    heap_put(loop, pos, s);
}

static void sift_down(ev_loop *loop, int pos) {
    int s = loop->heap[pos];
    for (;;) {
        int c = 2 * pos + 1;
        if (c >= loop->heap_len) break;
        if (c + 1 < loop->heap_len && timer_less(loop, loop->heap[c + 1], loop->heap[c])) c++;
        if (!timer_less(loop, loop->heap[c], s)) break;
        heap_put(loop, pos, loop->heap[c]);
        pos = c;
    }
    heap_put(loop, pos, s);
}

static void heap_remove(ev_loop *loop, int pos) {
    loop->timers[loop->heap[pos]].heap_pos = -1;
    int last = loop->heap[--loop->heap_len];
    if (pos == loop->heap_len) return;
    heap_put(loop, pos, last);
    sift_up(loop, pos);
    sift_down(loop, loop->timers[last].heap_pos);
}

#ifdef ST_DEBUG_INVARIANTS
static void check_timers(const ev_loop *loop) {
    int in_heap = 0;
    for (int s = 0; s < loop->ntimers; s++) {
        const struct ev_timer *t = &loop->timers[s];
        EV_ASSERT((t->id & 0xffffffffLL) == s && t->id > 0);
        if (t->state == T_HEAP) {
            in_heap++;
            EV_ASSERT(t->heap_pos >= 0 && t->heap_pos < loop->heap_len && loop->heap[t->heap_pos] == s);
        }
    }
    EV_ASSERT(in_heap == loop->heap_len);
    for (int i = 1; i < loop->heap_len; i++)
        EV_ASSERT(!timer_less(loop, loop->heap[i], loop->heap[(i - 1) / 2]));
}
#define CHECK_TIMERS(loop) check_timers(loop)
#else
#define CHECK_TIMERS(loop) ((void)0)
#endif

/* Grows slots, heap and batch together; capacity is committed only if all three grew. */
static int grow_timers(ev_loop *loop) {
    if (loop->timer_cap >= TIMER_MAX_SLOTS) return -ENOMEM;
    int cap = loop->timer_cap ? loop->timer_cap * 2 : 16;
    struct ev_timer *t = realloc(loop->timers, (size_t)cap * sizeof *t);
    if (!t) return -ENOMEM;
    loop->timers = t;
    int *h = realloc(loop->heap, (size_t)cap * sizeof *h);
    if (!h) return -ENOMEM;
    loop->heap = h;
    long long *b = realloc(loop->batch, (size_t)cap * sizeof *b);
    if (!b) return -ENOMEM;
    loop->batch = b;
    loop->timer_cap = cap;
    return 0;
}

static int timer_alloc(ev_loop *loop) {
    if (loop->timer_free >= 0) {
        int s = loop->timer_free;
        loop->timer_free = loop->timers[s].next_free;
        return s;
    }
    if (loop->ntimers == loop->timer_cap && grow_timers(loop) < 0) return -1;
    int s = loop->ntimers++;
    loop->timers[s].id = (1LL << 32) | s;
    return s;
}

/* Frees slot s whatever its state; its id stops being live (E6). */
static void timer_release(ev_loop *loop, int s) {
    struct ev_timer *t = &loop->timers[s];
    if (t->state == T_HEAP) heap_remove(loop, t->heap_pos);
    long long gen = t->id >> 32;
    gen = gen >= TIMER_GEN_MAX ? 1 : gen + 1;
    t->id = (gen << 32) | s;
    t->state = T_FREE;
    t->fn = NULL;
    t->arg = NULL;
    t->next_free = loop->timer_free;
    loop->timer_free = s;
}

static void timer_schedule_at(ev_loop *loop, int s, long long due_us) {
    struct ev_timer *t = &loop->timers[s];
    t->due_us = due_us;
    t->seq = loop->timer_seq++;
    t->state = T_HEAP;
    loop->heap[loop->heap_len] = s;
    t->heap_pos = loop->heap_len++;
    sift_up(loop, t->heap_pos);
}

/* The deadline ms from now (clamped to [0, TIMER_MAX_MS]). */
static long long due_in(long long ms) {
    if (ms < 0) ms = 0;
    if (ms > TIMER_MAX_MS) ms = TIMER_MAX_MS;
    return now_us() + ms * 1000;
}

static long long timer_add(ev_loop *loop, long long due_us, ev_timer_fn *fn, void *arg) {
    EV_DASSERT(NOT_IN_OTHER_LOOP(loop));
    if (!fn) return -EINVAL;
    int s = timer_alloc(loop);
    if (s < 0) return -ENOMEM;
    loop->timers[s].fn = fn;
    loop->timers[s].arg = arg;
    timer_schedule_at(loop, s, due_us);
    CHECK_TIMERS(loop);
    return loop->timers[s].id;
}

long long ev_timer_add(ev_loop *loop, long long ms, ev_timer_fn *fn, void *arg) {
    return timer_add(loop, due_in(ms), fn, arg);
}

long long ev_timer_add_at(ev_loop *loop, long long deadline_ms, ev_timer_fn *fn, void *arg) {
    if (deadline_ms < 0) deadline_ms = 0;
    if (deadline_ms > TIMER_MAX_DEADLINE_MS) deadline_ms = TIMER_MAX_DEADLINE_MS;
    return timer_add(loop, deadline_ms * 1000, fn, arg);
}

int ev_timer_del(ev_loop *loop, long long id) {
    EV_DASSERT(NOT_IN_OTHER_LOOP(loop));
    if (id <= 0) return -ENOENT;
    long long s = id & 0xffffffffLL;
    if (s >= loop->ntimers) return -ENOENT;
    const struct ev_timer *t = &loop->timers[s];
    if (t->id != id || t->state == T_FREE) return -ENOENT;
    timer_release(loop, (int)s);
    CHECK_TIMERS(loop);
    return 0;
}

static void process_timers(ev_loop *loop) {
    if (loop->heap_len == 0) return;
    long long now = now_us();
    int n = 0;
    while (loop->heap_len > 0 && loop->timers[loop->heap[0]].due_us <= now) {
        int s = loop->heap[0];
        heap_remove(loop, 0);
        loop->timers[s].state = T_PENDING;
        loop->batch[n++] = loop->timers[s].id;
    }
    /* Callbacks may add timers (which can move timers/heap/batch) or delete any timer, so
     * nothing is held across a call but the slot index and id. */
    for (int i = 0; i < n; i++) {
        long long id = loop->batch[i];
        int s = (int)(id & 0xffffffffLL);
        struct ev_timer *t = &loop->timers[s];
        if (t->id != id || t->state != T_PENDING) continue; /* deleted by an earlier callback */
        t->state = T_RUNNING;
        long long next = t->fn(loop, id, t->arg);
        loop->processed++;
        if (loop->timers[s].id != id) continue; /* deleted itself: ignore next (E6) */
        if (next < 0)
            timer_release(loop, s);
        else
            timer_schedule_at(loop, s, due_in(next)); /* not re-fired by this batch (E5) */
    }
    CHECK_TIMERS(loop);
}

static int poll_timeout_ms(ev_loop *loop, int flags) {
    if ((flags & EV_DONT_WAIT) || atomic_load(&loop->stop)) return 0;
    if (loop->heap_len == 0) return -1;
    long long wait_us = loop->timers[loop->heap[0]].due_us - now_us();
    if (wait_us <= 0) return 0;
    long long ms = (wait_us + 999) / 1000; /* round up: waking early would just spin */
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* ---- tasks ----------------------------------------------------------------------------- */

/* Takes every queued task and runs it in post order with fn(run_loop, arg). */
static int run_tasks(ev_loop *loop, ev_loop *run_loop) {
    struct ev_task *t = atomic_exchange_explicit(&loop->tasks, NULL, memory_order_acquire);
    struct ev_task *fifo = NULL;
    while (t) {
        struct ev_task *next = t->next;
        t->next = fifo;
        fifo = t;
        t = next;
    }
    int n = 0;
    while (fifo) {
        struct ev_task *next = fifo->next;
        fifo->fn(run_loop, fifo->arg);
        free(fifo);
        fifo = next;
        n++;
    }
    return n;
}

static void on_wakeup(ev_loop *loop, int fd, void *arg, int mask) {
    uint64_t v;
    /* Reset the eventfd before taking the list (see the file comment). EAGAIN: already reset. */
    while (read(fd, &v, sizeof v) < 0 && errno == EINTR) {
    }
    loop->processed += run_tasks(loop, loop);
}

int ev_post(ev_loop *loop, ev_task_fn *fn, void *arg) {
    if (!fn) return -EINVAL;
    struct ev_task *t = malloc(sizeof *t);
    if (!t) return -ENOMEM;
    t->fn = fn;
    t->arg = arg;
    struct ev_task *head = atomic_load_explicit(&loop->tasks, memory_order_relaxed);
    do {
        t->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&loop->tasks, &head, t, memory_order_release,
                                                    memory_order_relaxed));
    /* A non-empty list already has a wakeup on its way from whoever pushed onto empty. */
    if (head == NULL) ev_wakeup(loop);
    return 0;
}

void ev_wakeup(ev_loop *loop) {
    uint64_t one = 1;
    /* EAGAIN means the counter is saturated: the fd is readable anyway. */
    while (write(loop->wake_fd, &one, sizeof one) < 0 && errno == EINTR) {
    }
}

/* ---- file events ----------------------------------------------------------------------- */

static int grow_files(ev_loop *loop, int fd) {
    int n = loop->nfiles;
    while (n <= fd) n = n > INT_MAX / 2 ? INT_MAX : n * 2;
    struct ev_file *f = realloc(loop->files, (size_t)n * sizeof *f);
    if (!f) return -ENOMEM;
    memset(f + loop->nfiles, 0, (size_t)(n - loop->nfiles) * sizeof *f);
    loop->files = f;
    loop->nfiles = n;
    return 0;
}

int ev_add(ev_loop *loop, int fd, int mask, ev_file_fn *fn, void *arg) {
    EV_DASSERT(NOT_IN_OTHER_LOOP(loop));
    if (fd < 0) return -EBADF;
    if (!(mask & EV_RW) || !fn) return -EINVAL;
    if (fd >= loop->nfiles) {
        int rc = grow_files(loop, fd);
        if (rc < 0) return rc;
    }
    struct ev_file *f = &loop->files[fd];
    int old = f->mask & EV_RW, nm = old | (mask & EV_RW);
    if (nm != old) {
        int rc = ev_backend_set(loop->be, fd, old, nm);
        if (rc < 0) return rc;
    }
    f->mask |= mask & (EV_RW | EV_BARRIER);
    if (mask & EV_READABLE) {
        f->rfn = fn;
        f->rarg = arg;
    }
    if (mask & EV_WRITABLE) {
        f->wfn = fn;
        f->warg = arg;
    }
    return 0;
}

void ev_del(ev_loop *loop, int fd, int mask) {
    EV_DASSERT(NOT_IN_OTHER_LOOP(loop));
    if (fd < 0 || fd >= loop->nfiles) return;
    struct ev_file *f = &loop->files[fd];
    if (f->mask == EV_NONE) return;
    if (mask & EV_WRITABLE) mask |= EV_BARRIER;
    int old = f->mask & EV_RW, nm = old & ~mask;
    /* A failure here means the kernel dropped fd already (closed); the table still forgets it. */
    if (nm != old) (void)ev_backend_set(loop->be, fd, old, nm);
    /* Readiness already collected for a deleted direction is now stale (E2). */
    if (old & mask & EV_READABLE) {
        f->rgen++;
        f->rfn = NULL;
        f->rarg = NULL;
    }
    if (old & mask & EV_WRITABLE) {
        f->wgen++;
        f->wfn = NULL;
        f->warg = NULL;
    }
    f->mask &= ~mask;
    if ((f->mask & EV_RW) == 0) f->mask = EV_NONE;
}

int ev_get_mask(const ev_loop *loop, int fd) {
    return fd >= 0 && fd < loop->nfiles ? loop->files[fd].mask : EV_NONE;
}

/* Delivers one direction of a polled event if the registration polled for that direction is
 * still live (E2, E3). Re-reads the table: a callback may have grown it. */
static void fire(ev_loop *loop, const struct ev_fired *fe, int dir) {
    const struct ev_file *f = &loop->files[fe->fd];
    if (!(f->mask & fe->mask & dir)) return;
    bool rd = dir == EV_READABLE;
    if (rd ? f->rgen != fe->rgen : f->wgen != fe->wgen) return;
    ev_file_fn *fn = rd ? f->rfn : f->wfn;
    void *arg = rd ? f->rarg : f->warg;
    if (fe->fd != loop->wake_fd) loop->processed++;
    fn(loop, fe->fd, arg, dir);
}

/* ---- the loop -------------------------------------------------------------------------- */

int ev_process(ev_loop *loop, int flags) {
    EV_ASSERT(!loop->in_process); /* E1: callbacks never re-enter the loop */
    loop->in_process = true;
    ev_loop *outer = tl_current;
    tl_current = loop;
    loop->processed = 0;

    if (!(flags & EV_NO_HOOKS) && loop->before_sleep) loop->before_sleep(loop, loop->before_arg);

    if (loop->fired_cap < loop->nfiles) {
        struct ev_fired *nf = realloc(loop->fired, (size_t)loop->nfiles * sizeof *nf);
        if (nf) { /* else poll fewer at a time: level triggering keeps the rest */
            loop->fired = nf;
            loop->fired_cap = loop->nfiles;
        }
    }
    /* After before_sleep: it may add timers or request a stop. */
    int n = ev_backend_poll(loop->be, poll_timeout_ms(loop, flags), loop->fired, loop->fired_cap);
    if (n < 0) {
        /* EBADF/EFAULT/EINVAL: the loop itself is broken. */
        fprintf(stderr, "ev: %s poll failed: %s\n", ev_backend_name(), strerror(-n));
        abort();
    }

    if (!(flags & EV_NO_HOOKS) && loop->after_sleep) loop->after_sleep(loop, loop->after_arg);

    for (int i = 0; i < n; i++) {
        struct ev_fired *fe = &loop->fired[i];
        EV_ASSERT(fe->fd >= 0 && fe->fd < loop->nfiles);
        fe->rgen = loop->files[fe->fd].rgen;
        fe->wgen = loop->files[fe->fd].wgen;
    }
    for (int i = 0; i < n; i++) {
        const struct ev_fired *fe = &loop->fired[i];
        /* EV_BARRIER inverts the order so that a write never follows a read of the same fd in
         * one iteration: the `always` mode's replies wait for before_sleep's group commit. */
        bool invert = loop->files[fe->fd].mask & EV_BARRIER;
        if (!invert) fire(loop, fe, EV_READABLE);
        fire(loop, fe, EV_WRITABLE);
        if (invert) fire(loop, fe, EV_READABLE);
    }

    process_timers(loop);

    tl_current = outer;
    loop->in_process = false;
    return loop->processed;
}

void ev_run(ev_loop *loop) {
    while (!atomic_exchange(&loop->stop, false)) ev_process(loop, 0);
}

void ev_stop(ev_loop *loop) {
    atomic_store(&loop->stop, true);
    /* From inside this loop's iteration the flag alone suffices: ev_run checks it when the
     * iteration ends, and a later poll of this iteration does not block while it is set. */
    if (tl_current != loop) ev_wakeup(loop);
}

void ev_set_before_sleep(ev_loop *loop, ev_hook_fn *fn, void *arg) {
    loop->before_sleep = fn;
    loop->before_arg = arg;
}

void ev_set_after_sleep(ev_loop *loop, ev_hook_fn *fn, void *arg) {
    loop->after_sleep = fn;
    loop->after_arg = arg;
}

ev_loop *ev_loop_new(int setsize) {
    if (setsize < MIN_SETSIZE) setsize = MIN_SETSIZE;
    ev_loop *loop = calloc(1, sizeof *loop);
    if (!loop) return NULL;
    loop->wake_fd = -1;
    loop->timer_free = -1;
    atomic_init(&loop->tasks, NULL);
    atomic_init(&loop->stop, false);
    int err = ENOMEM;
    loop->files = calloc((size_t)setsize, sizeof *loop->files);
    loop->fired = calloc((size_t)setsize, sizeof *loop->fired);
    if (!loop->files || !loop->fired) goto fail;
    loop->nfiles = loop->fired_cap = setsize;
    if (!(loop->be = ev_backend_new())) {
        err = errno;
        goto fail;
    }
    loop->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->wake_fd < 0) {
        err = errno;
        goto fail;
    }
    int rc = ev_add(loop, loop->wake_fd, EV_READABLE, on_wakeup, NULL);
    if (rc < 0) {
        err = -rc;
        goto fail;
    }
    return loop;
fail:
    ev_loop_free(loop);
    errno = err;
    return NULL;
}

void ev_loop_free(ev_loop *loop) {
    if (!loop) return;
    EV_ASSERT(!loop->in_process);
    run_tasks(loop, NULL); /* E7: cancelled tasks release their args */
    ev_backend_free(loop->be);
    if (loop->wake_fd >= 0) close(loop->wake_fd);
    free(loop->files);
    free(loop->fired);
    free(loop->timers);
    free(loop->heap);
    free(loop->batch);
    free(loop);
}
