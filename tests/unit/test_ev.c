/* test_ev.c -- the event loop (E2-E8 in net/ev.h): file events on pipes and socketpairs, deletion
 * during dispatch, EV_BARRIER ordering, the timer heap, hooks, and the cross-thread task queue and
 * stop. Every wait is bounded by a guard timer or a timed semaphore; nothing sleeps to synchronise. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "ev.h"

#define GUARD_MS 10000 /* upper bound for any wait; tests normally finish in milliseconds */

typedef struct fx {
    ev_loop *loop;
    char *dir;
} fx;

static int setup(void **state) {
    fx *x = calloc(1, sizeof *x);
    if (!x) return -1;
    x->loop = ev_loop_new(16);
    x->dir = st_test_tmpdir("ev");
    if (!x->loop || !x->dir) {
        ev_loop_free(x->loop);
        free(x->dir);
        free(x);
        return -1;
    }
    *state = x;
    return 0;
}

static int teardown(void **state) {
    fx *x = *state;
    ev_loop_free(x->loop);
    st_test_rmrf(x->dir);
    free(x->dir);
    free(x);
    return 0;
}

static void make_pipe(int p[2]) { assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0); }

static void make_socketpair(int s[2]) {
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, s), 0);
}

static void put_byte(int fd) { assert_int_equal(write(fd, "x", 1), 1); }

static void drain(int fd) {
    char buf[256];
    while (read(fd, buf, sizeof buf) > 0) {
    }
}

static void close_fds(ev_loop *loop, int a, int b) {
    ev_del(loop, a, EV_READABLE | EV_WRITABLE);
    ev_del(loop, b, EV_READABLE | EV_WRITABLE);
    close(a);
    close(b);
}

static long long guard_expire(ev_loop *loop, long long id, void *arg) {
    *(bool *)arg = true;
    return EV_NOMORE;
}

static long long guard_stop(ev_loop *loop, long long id, void *arg) {
    *(bool *)arg = true;
    ev_stop(loop);
    return EV_NOMORE;
}

/* Runs blocking iterations until *count >= target or GUARD_MS pass; true if the count was met. */
static bool run_until(ev_loop *loop, const int *count, int target) {
    bool expired = false;
    long long guard = ev_timer_add(loop, GUARD_MS, guard_expire, &expired);
    assert_true(guard > 0);
    while (*count < target && !expired) ev_process(loop, 0);
    if (!expired) assert_int_equal(ev_timer_del(loop, guard), 0);
    return *count >= target;
}

/* A file callback that logs (fd, mask) and optionally drains or deletes. */
typedef struct flog {
    int calls;
    int fd[8];
    int mask[8];
    void *arg[8];
    char order[16];   /* 'R' / 'W' per call */
    int drain_fd;     /* >= 0: read it dry on a readable call */
    int del_fd;       /* >= 0: ev_del(del_fd, del_mask) on every call */
    int del_mask;
} flog;

static void flog_init(flog *l) {
    memset(l, 0, sizeof *l);
    l->drain_fd = l->del_fd = -1;
}

static void on_file(ev_loop *loop, int fd, void *arg, int mask) {
    flog *l = arg;
    if (l->calls < 8) {
        l->fd[l->calls] = fd;
        l->mask[l->calls] = mask;
        l->arg[l->calls] = arg;
    }
    if (l->calls < 15) l->order[l->calls] = mask == EV_READABLE ? 'R' : 'W';
    l->calls++;
    if (mask == EV_READABLE && l->drain_fd >= 0) drain(l->drain_fd);
    if (l->del_fd >= 0) ev_del(loop, l->del_fd, l->del_mask);
}

/* ---- file events --------------------------------------------------------------------- */

static void test_ev_readable_pipe_fires_until_drained(void **state) {
    fx *x = *state;
    int p[2];
    make_pipe(p);
    flog l;
    flog_init(&l);
    assert_int_equal(ev_add(x->loop, p[0], EV_READABLE, on_file, &l), 0);
    assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 0); /* nothing written yet */
    put_byte(p[1]);
    assert_true(run_until(x->loop, &l.calls, 1));
    assert_int_equal(l.fd[0], p[0]);
    assert_int_equal(l.mask[0], EV_READABLE);
    assert_ptr_equal(l.arg[0], &l);
    /* Level-triggered: still readable until read. */
    assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 1);
    drain(p[0]);
    assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 0);
    assert_int_equal(l.calls, 2);
    close_fds(x->loop, p[0], p[1]);
}

static void test_ev_writable_pipe_fires(void **state) {
    fx *x = *state;
    int p[2];
    make_pipe(p);
    flog l;
    flog_init(&l);
    l.del_fd = p[1];
    l.del_mask = EV_WRITABLE; /* a one-shot write handler, as a reply flush would be */
    assert_int_equal(ev_add(x->loop, p[1], EV_WRITABLE, on_file, &l), 0);
    assert_true(run_until(x->loop, &l.calls, 1));
    assert_int_equal(l.fd[0], p[1]);
    assert_int_equal(l.mask[0], EV_WRITABLE);
    assert_int_equal(ev_get_mask(x->loop, p[1]), EV_NONE);
    assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 0);
    assert_int_equal(l.calls, 1);
    close_fds(x->loop, p[0], p[1]);
}

static void test_ev_add_rejects_bad_arguments_and_leaves_mask_unchanged(void **state) {
    fx *x = *state;
    flog l;
    flog_init(&l);
    int p[2];
    make_pipe(p);
    assert_int_equal(ev_add(x->loop, -1, EV_READABLE, on_file, &l), -EBADF);
    assert_int_equal(ev_add(x->loop, p[0], EV_NONE, on_file, &l), -EINVAL);
    assert_int_equal(ev_add(x->loop, p[0], EV_BARRIER, on_file, &l), -EINVAL);
    assert_int_equal(ev_add(x->loop, p[0], EV_READABLE, NULL, &l), -EINVAL);
    assert_int_equal(ev_get_mask(x->loop, p[0]), EV_NONE);

    /* epoll refuses regular files; the error comes back and nothing is registered. */
    char *path = st_test_path(x->dir, "plain");
    int fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ev_add(x->loop, fd, EV_READABLE, on_file, &l), -EPERM);
    assert_int_equal(ev_get_mask(x->loop, fd), EV_NONE);
    close(fd);
    free(path);

    assert_int_equal(ev_get_mask(x->loop, -5), EV_NONE);
    assert_int_equal(ev_get_mask(x->loop, 1 << 20), EV_NONE);
    ev_del(x->loop, 1 << 20, EV_READABLE); /* unknown fds are ignored */
    ev_del(x->loop, -1, EV_READABLE);
    close_fds(x->loop, p[0], p[1]);
}

static void test_ev_fd_table_grows_for_high_fd_numbers(void **state) {
    fx *x = *state; /* setsize 16 */
    int p[2];
    make_pipe(p);
    int high = fcntl(p[0], F_DUPFD_CLOEXEC, 700);
    assert_true(high >= 700);
    flog l;
    flog_init(&l);
    assert_int_equal(ev_add(x->loop, high, EV_READABLE, on_file, &l), 0);
    assert_int_equal(ev_get_mask(x->loop, high), EV_READABLE);
    put_byte(p[1]);
    assert_true(run_until(x->loop, &l.calls, 1));
    assert_int_equal(l.fd[0], high);
    ev_del(x->loop, high, EV_READABLE);
    close(high);
    close_fds(x->loop, p[0], p[1]);
}

static void test_ev_get_mask_tracks_add_del_and_barrier(void **state) {
    fx *x = *state;
    int s[2];
    make_socketpair(s);
    flog l;
    flog_init(&l);
    assert_int_equal(ev_add(x->loop, s[0], EV_READABLE, on_file, &l), 0);
    assert_int_equal(ev_get_mask(x->loop, s[0]), EV_READABLE);
    assert_int_equal(ev_add(x->loop, s[0], EV_WRITABLE | EV_BARRIER, on_file, &l), 0);
    assert_int_equal(ev_get_mask(x->loop, s[0]), EV_READABLE | EV_WRITABLE | EV_BARRIER);
    ev_del(x->loop, s[0], EV_BARRIER);
    assert_int_equal(ev_get_mask(x->loop, s[0]), EV_READABLE | EV_WRITABLE);
    assert_int_equal(ev_add(x->loop, s[0], EV_WRITABLE | EV_BARRIER, on_file, &l), 0);
    ev_del(x->loop, s[0], EV_WRITABLE); /* takes the barrier with it */
    assert_int_equal(ev_get_mask(x->loop, s[0]), EV_READABLE);
    ev_del(x->loop, s[0], EV_READABLE);
    assert_int_equal(ev_get_mask(x->loop, s[0]), EV_NONE);
    ev_del(x->loop, s[0], EV_READABLE); /* deleting again is a no-op */
    /* Deleted registrations are really gone from the kernel: nothing fires. */
    put_byte(s[1]);
    assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 0);
    assert_int_equal(l.calls, 0);
    close_fds(x->loop, s[0], s[1]);
}

static void test_ev_deleting_an_fd_in_another_callback_prevents_its_callback(void **state) {
    fx *x = *state;
    int a[2], b[2];
    make_pipe(a);
    make_pipe(b);
    put_byte(a[1]);
    put_byte(b[1]);
    /* Both are ready in the same poll; whichever runs first deletes the other (E2). */
    flog la, lb;
    flog_init(&la);
    flog_init(&lb);
    la.del_fd = b[0];
    lb.del_fd = a[0];
    la.del_mask = lb.del_mask = EV_READABLE;
    assert_int_equal(ev_add(x->loop, a[0], EV_READABLE, on_file, &la), 0);
    assert_int_equal(ev_add(x->loop, b[0], EV_READABLE, on_file, &lb), 0);
    assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 1);
    assert_int_equal(la.calls + lb.calls, 1);
    close_fds(x->loop, a[0], a[1]);
    close_fds(x->loop, b[0], b[1]);
}

static void test_ev_deleting_writable_in_read_callback_skips_the_write(void **state) {
    fx *x = *state;
    int s[2];
    make_socketpair(s);
    put_byte(s[1]); /* s[0] is readable and writable */
    flog l;
    flog_init(&l);
    l.del_fd = s[0];
    l.del_mask = EV_WRITABLE;
    assert_int_equal(ev_add(x->loop, s[0], EV_READABLE | EV_WRITABLE, on_file, &l), 0);
    assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 1);
    assert_int_equal(l.calls, 1);
    assert_int_equal(l.mask[0], EV_READABLE);
    close_fds(x->loop, s[0], s[1]);
}

static void test_ev_deleting_readable_in_read_callback_keeps_the_write(void **state) {
    fx *x = *state;
    int s[2];
    make_socketpair(s);
    put_byte(s[1]);
    flog l;
    flog_init(&l);
    l.del_fd = s[0];
    l.del_mask = EV_READABLE; /* e.g. a client paused for input but owed a reply */
    assert_int_equal(ev_add(x->loop, s[0], EV_READABLE | EV_WRITABLE, on_file, &l), 0);
    assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 2);
    assert_string_equal(l.order, "RW");
    close_fds(x->loop, s[0], s[1]);
}

/* E2: whichever callback runs first deletes the other fd's readable and adds it back with a new
 * callback; the readiness polled for the old registration must not reach the new one. */
typedef struct readd_ctx {
    int a_r, b_r;
    int first_calls;
    flog fresh;
} readd_ctx;

static void on_readd_first(ev_loop *loop, int fd, void *arg, int mask) {
    readd_ctx *c = arg;
    if (c->first_calls++ > 0) return;
    int other = fd == c->a_r ? c->b_r : c->a_r;
    ev_del(loop, other, EV_READABLE);
    if (ev_add(loop, other, EV_READABLE, on_file, &c->fresh) != 0) abort();
}

static void test_ev_direction_readded_in_same_iteration_waits_for_next_poll(void **state) {
    fx *x = *state;
    int a[2], b[2];
    make_pipe(a);
    make_pipe(b);
    readd_ctx c = {.a_r = a[0], .b_r = b[0]};
    flog_init(&c.fresh);
    put_byte(a[1]);
    put_byte(b[1]);
    assert_int_equal(ev_add(x->loop, a[0], EV_READABLE, on_readd_first, &c), 0);
    assert_int_equal(ev_add(x->loop, b[0], EV_READABLE, on_readd_first, &c), 0);
    assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 1);
    assert_int_equal(c.first_calls, 1);
    assert_int_equal(c.fresh.calls, 0);
    /* Nothing was read: the next poll reports both again, each to its live callback. */
    assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 2);
    assert_int_equal(c.first_calls, 2);
    assert_int_equal(c.fresh.calls, 1);
    close_fds(x->loop, a[0], a[1]);
    close_fds(x->loop, b[0], b[1]);
}

/* E3: the first callback closes the other pipe and puts a fresh, empty pipe on the same fd number;
 * the event already collected for the old pipe must not reach the new registration. */
typedef struct reuse_ctx {
    int a_r, b_r;
    int first_calls, new_calls;
    int new_w;
} reuse_ctx;

static void on_reuse_new(ev_loop *loop, int fd, void *arg, int mask) {
    reuse_ctx *c = arg;
    c->new_calls++;
    drain(fd);
}

static void on_reuse_first(ev_loop *loop, int fd, void *arg, int mask) {
    reuse_ctx *c = arg;
    drain(fd);
    if (c->first_calls++ > 0) return;
    int other = fd == c->a_r ? c->b_r : c->a_r;
    ev_del(loop, other, EV_READABLE);
    close(other);
    int p[2];
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) abort();
    if (p[0] != other) { /* usually the kernel hands back the lowest free number, other itself */
        if (dup3(p[0], other, O_CLOEXEC) != other) abort();
        close(p[0]);
    }
    c->new_w = p[1];
    if (ev_add(loop, other, EV_READABLE, on_reuse_new, c) != 0) abort();
}

static void test_ev_reused_fd_number_gets_no_stale_event(void **state) {
    fx *x = *state;
    int a[2], b[2];
    make_pipe(a);
    make_pipe(b);
    reuse_ctx c = {.a_r = a[0], .b_r = b[0], .new_w = -1};
    put_byte(a[1]);
    put_byte(b[1]);
    assert_int_equal(ev_add(x->loop, a[0], EV_READABLE, on_reuse_first, &c), 0);
    assert_int_equal(ev_add(x->loop, b[0], EV_READABLE, on_reuse_first, &c), 0);
    assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 1);
    assert_int_equal(c.first_calls, 1);
    assert_int_equal(c.new_calls, 0);
    assert_true(c.new_w >= 0);
    assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 0); /* the new pipe is empty */
    put_byte(c.new_w);
    assert_true(run_until(x->loop, &c.new_calls, 1)); /* and the new registration works */
    assert_int_equal(c.first_calls, 1);
    close_fds(x->loop, a[0], a[1]);
    close_fds(x->loop, b[0], b[1]);
    close(c.new_w);
}

static void check_order(ev_loop *loop, int barrier, const char *want) {
    int s[2];
    make_socketpair(s);
    put_byte(s[1]);
    flog l;
    flog_init(&l);
    l.drain_fd = s[0];
    assert_int_equal(ev_add(loop, s[0], EV_READABLE | EV_WRITABLE | barrier, on_file, &l), 0);
    assert_int_equal(ev_process(loop, EV_DONT_WAIT), 2);
    assert_string_equal(l.order, want);
    close_fds(loop, s[0], s[1]);
}

static void test_ev_readable_fires_before_writable_without_barrier(void **state) {
    fx *x = *state;
    check_order(x->loop, 0, "RW");
}

static void test_ev_barrier_fires_writable_before_readable(void **state) {
    fx *x = *state;
    check_order(x->loop, EV_BARRIER, "WR");
}

/* ---- timers -------------------------------------------------------------------------- */

typedef struct tlog {
    int calls;
    int order[256];      /* tags in firing order */
    long long ids[256];
    long long ret;       /* what every callback returns */
    int stop_after;      /* > 0: return EV_NOMORE from this call on */
    long long del_id;    /* > 0: ev_timer_del(del_id) on the first call */
    int del_rc;
} tlog;

typedef struct targ {
    tlog *log;
    int tag;
} targ;

static long long on_timer(ev_loop *loop, long long id, void *arg) {
    targ *t = arg;
    tlog *l = t->log;
    if (l->calls < 256) {
        l->order[l->calls] = t->tag;
        l->ids[l->calls] = id;
    }
    l->calls++;
    if (l->del_id > 0) {
        l->del_rc = ev_timer_del(loop, l->del_id);
        l->del_id = 0;
    }
    if (l->stop_after > 0 && l->calls >= l->stop_after) return EV_NOMORE;
    return l->ret;
}

static void test_ev_timers_fire_in_deadline_order(void **state) {
    fx *x = *state;
    tlog l = {.ret = EV_NOMORE};
    targ t30 = {&l, 30}, t10 = {&l, 10}, t20 = {&l, 20};
    assert_true(ev_timer_add(x->loop, 30, on_timer, &t30) > 0);
    assert_true(ev_timer_add(x->loop, 10, on_timer, &t10) > 0);
    assert_true(ev_timer_add(x->loop, 20, on_timer, &t20) > 0);
    assert_true(run_until(x->loop, &l.calls, 3));
    assert_int_equal(l.calls, 3);
    assert_int_equal(l.order[0], 10);
    assert_int_equal(l.order[1], 20);
    assert_int_equal(l.order[2], 30);
}

static void test_ev_timer_never_fires_early(void **state) {
    fx *x = *state;
    tlog l = {.ret = EV_NOMORE};
    targ t = {&l, 1};
    long long start = ev_now_ms();
    assert_true(ev_timer_add(x->loop, 25, on_timer, &t) > 0);
    while (l.calls == 0) {
        ev_process(x->loop, 0); /* the timer bounds each poll */
        if (l.calls == 0) assert_true(ev_now_ms() - start < GUARD_MS);
    }
    assert_true(ev_now_ms() - start >= 25);
}

static void test_ev_periodic_timer_reschedules_until_nomore(void **state) {
    fx *x = *state;
    tlog l = {.ret = 1, .stop_after = 5};
    targ t = {&l, 7};
    long long id = ev_timer_add(x->loop, 1, on_timer, &t);
    assert_true(id > 0);
    assert_true(run_until(x->loop, &l.calls, 5));
    for (int i = 0; i < 5; i++) assert_true(l.ids[i] == id); /* same timer each time */
    assert_int_equal(ev_timer_del(x->loop, id), -ENOENT); /* EV_NOMORE deleted it */
    assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 0);
    assert_int_equal(l.calls, 5);
}

static void test_ev_deleted_timer_never_fires(void **state) {
    fx *x = *state;
    tlog victim = {.ret = EV_NOMORE}, done = {.ret = EV_NOMORE};
    targ tv = {&victim, 1}, td = {&done, 2};
    long long id = ev_timer_add(x->loop, 1, on_timer, &tv);
    assert_true(id > 0);
    assert_true(ev_timer_add(x->loop, 20, on_timer, &td) > 0);
    assert_int_equal(ev_timer_del(x->loop, id), 0);
    assert_int_equal(ev_timer_del(x->loop, id), -ENOENT);
    assert_int_equal(ev_timer_del(x->loop, 0), -ENOENT);
    assert_int_equal(ev_timer_del(x->loop, -3), -ENOENT);
    assert_int_equal(ev_timer_del(x->loop, id + 12345), -ENOENT);
    assert_true(run_until(x->loop, &done.calls, 1));
    assert_int_equal(victim.calls, 0);
}

static void test_ev_timer_deleted_by_earlier_timer_in_same_batch_does_not_fire(void **state) {
    fx *x = *state;
    /* Both are due in the same phase; each deletes the other, so exactly one runs (E6). */
    tlog la = {.ret = EV_NOMORE}, lb = {.ret = EV_NOMORE};
    targ ta = {&la, 1}, tb = {&lb, 2};
    long long a = ev_timer_add(x->loop, 0, on_timer, &ta);
    long long b = ev_timer_add(x->loop, 0, on_timer, &tb);
    la.del_id = b;
    lb.del_id = a;
    assert_true(run_until(x->loop, &la.calls, 1)); /* a was scheduled first: it runs first */
    assert_int_equal(la.calls + lb.calls, 1);
    assert_int_equal(la.del_rc, 0);
    assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 0);
    assert_int_equal(lb.calls, 0);
}

static long long on_timer_self_delete(ev_loop *loop, long long id, void *arg) {
    int *calls = arg;
    (*calls)++;
    if (ev_timer_del(loop, id) != 0) abort();
    return 1; /* ignored: the timer deleted itself */
}

static void test_ev_timer_deleting_itself_ignores_its_return_value(void **state) {
    fx *x = *state;
    int calls = 0;
    long long id = ev_timer_add(x->loop, 0, on_timer_self_delete, &calls);
    assert_true(id > 0);
    assert_true(run_until(x->loop, &calls, 1));
    assert_int_equal(ev_timer_del(x->loop, id), -ENOENT);
    /* A later timer gets a fresh id even though it reuses the slot. */
    tlog l = {.ret = EV_NOMORE};
    targ t = {&l, 1};
    long long id2 = ev_timer_add(x->loop, 1, on_timer, &t);
    assert_true(id2 > 0 && id2 != id);
    assert_true(run_until(x->loop, &l.calls, 1));
    assert_int_equal(calls, 1);
}

static void test_ev_zero_interval_timer_fires_once_per_iteration(void **state) {
    fx *x = *state;
    tlog l = {.ret = 0};
    targ t = {&l, 1};
    long long id = ev_timer_add(x->loop, 0, on_timer, &t);
    assert_true(id > 0);
    for (int i = 1; i <= 20; i++) {
        assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 1); /* E5: no starvation */
        assert_int_equal(l.calls, i);
    }
    assert_int_equal(ev_timer_del(x->loop, id), 0);
    assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 0);
}

#define NTIMERS 200

static void test_ev_200_timers_fire_in_deadline_order(void **state) {
    fx *x = *state;
    st_rng rng;
    st_rng_seed(&rng, st_test_seed("test_ev_200_timers_fire_in_deadline_order", 20240611));
    static tlog l;
    static targ t[NTIMERS];
    static long long deadline[NTIMERS];
    memset(&l, 0, sizeof l);
    l.ret = EV_NOMORE;
    long long ids[NTIMERS];
    /* Absolute deadlines, so the expected order does not depend on how long the adds take:
     * (deadline, add order), ties included (about five timers share each deadline). */
    long long base = ev_now_ms();
    for (int i = 0; i < NTIMERS; i++) {
        t[i] = (targ){&l, i};
        deadline[i] = base + (long long)st_rng_below(&rng, 40);
        ids[i] = ev_timer_add_at(x->loop, deadline[i], on_timer, &t[i]);
        assert_true(ids[i] > 0);
        for (int j = 0; j < i; j++) assert_true(ids[j] != ids[i]);
    }
    assert_true(run_until(x->loop, &l.calls, NTIMERS));
    assert_int_equal(l.calls, NTIMERS);
    bool seen[NTIMERS] = {0};
    for (int k = 0; k < NTIMERS; k++) {
        int i = l.order[k];
        assert_false(seen[i]); /* each fired once */
        seen[i] = true;
        assert_true(l.ids[k] == ids[i]);
        if (k > 0) {
            int p = l.order[k - 1];
            assert_true(deadline[p] < deadline[i] || (deadline[p] == deadline[i] && p < i));
        }
    }
    assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 0);
}

static void test_ev_timer_add_rejects_null_callback(void **state) {
    fx *x = *state;
    assert_int_equal(ev_timer_add(x->loop, 1, NULL, NULL), -EINVAL);
}

/* ---- hooks --------------------------------------------------------------------------- */

typedef struct hooks {
    int before, after;
    char order[64];
    int n;
    bool stop_in_before;
} hooks;

static void note(hooks *h, char c) {
    if (h->n < 63) h->order[h->n++] = c;
}

static void on_before(ev_loop *loop, void *arg) {
    hooks *h = arg;
    h->before++;
    note(h, 'B');
    if (h->stop_in_before) ev_stop(loop);
}

static void on_after(ev_loop *loop, void *arg) {
    hooks *h = arg;
    h->after++;
    note(h, 'A');
}

static void on_file_note(ev_loop *loop, int fd, void *arg, int mask) {
    note(arg, 'F');
    drain(fd);
}

static void test_ev_before_sleep_runs_before_each_poll(void **state) {
    fx *x = *state;
    hooks h = {0};
    ev_set_before_sleep(x->loop, on_before, &h);
    ev_set_after_sleep(x->loop, on_after, &h);
    for (int i = 0; i < 10; i++) ev_process(x->loop, EV_DONT_WAIT);
    assert_int_equal(h.before, 10);
    assert_int_equal(h.after, 10);
    ev_process(x->loop, EV_DONT_WAIT | EV_NO_HOOKS);
    assert_int_equal(h.before, 10);

    /* Within an iteration: before_sleep, poll, after_sleep, then the file callback. */
    int p[2];
    make_pipe(p);
    h.n = 0;
    memset(h.order, 0, sizeof h.order);
    assert_int_equal(ev_add(x->loop, p[0], EV_READABLE, on_file_note, &h), 0);
    put_byte(p[1]);
    assert_int_equal(ev_process(x->loop, 0), 1);
    assert_string_equal(h.order, "BAF");

    ev_set_before_sleep(x->loop, NULL, NULL);
    ev_set_after_sleep(x->loop, NULL, NULL);
    ev_process(x->loop, EV_DONT_WAIT);
    assert_int_equal(h.before, 11);
    assert_int_equal(h.after, 11);
    close_fds(x->loop, p[0], p[1]);
}

static void test_ev_stop_in_before_sleep_does_not_block_the_poll(void **state) {
    fx *x = *state;
    hooks h = {.stop_in_before = true};
    bool guard_fired = false;
    long long guard = ev_timer_add(x->loop, GUARD_MS, guard_stop, &guard_fired);
    ev_set_before_sleep(x->loop, on_before, &h);
    ev_run(x->loop); /* nothing is ready: only the pending stop keeps the poll from blocking */
    assert_false(guard_fired);
    assert_int_equal(h.before, 1);
    assert_int_equal(ev_timer_del(x->loop, guard), 0);
}

static void test_ev_stop_before_run_is_sticky(void **state) {
    fx *x = *state;
    bool guard_fired = false;
    long long guard = ev_timer_add(x->loop, GUARD_MS, guard_stop, &guard_fired);
    ev_stop(x->loop);
    ev_run(x->loop);
    assert_false(guard_fired);
    assert_int_equal(ev_timer_del(x->loop, guard), 0);
}

static void test_ev_wakeup_returns_a_blocking_poll(void **state) {
    fx *x = *state;
    bool expired = false;
    long long guard = ev_timer_add(x->loop, GUARD_MS, guard_expire, &expired);
    ev_wakeup(x->loop);
    assert_int_equal(ev_process(x->loop, 0), 0); /* the internal wakeup is not a user callback */
    assert_false(expired);
    assert_int_equal(ev_timer_del(x->loop, guard), 0);
}

/* ---- tasks and threads --------------------------------------------------------------- */

#define POSTERS 4
#define PER_POSTER 1000

typedef struct post_ctx {
    ev_loop *loop;
    pthread_t loop_thread;
    int runs[POSTERS * PER_POSTER];
    int last[POSTERS];          /* per poster: the last index run, for E7's post order */
    int out_of_order;
    int wrong_thread;
    int total;
    atomic_int post_failures;
    pthread_barrier_t start;
} post_ctx;

typedef struct post_arg {
    post_ctx *ctx;
    int poster, idx;
} post_arg;

static post_arg post_args[POSTERS * PER_POSTER];

static void on_counted_task(ev_loop *loop, void *arg) {
    post_arg *a = arg;
    post_ctx *c = a->ctx;
    if (!loop || !pthread_equal(pthread_self(), c->loop_thread)) c->wrong_thread++;
    c->runs[a->poster * PER_POSTER + a->idx]++;
    if (a->idx != c->last[a->poster] + 1) c->out_of_order++;
    c->last[a->poster] = a->idx;
    if (++c->total == POSTERS * PER_POSTER) ev_stop(loop);
}

static void *poster_main(void *arg) {
    post_arg *first = arg;
    post_ctx *c = first->ctx;
    pthread_barrier_wait(&c->start);
    for (int i = 0; i < PER_POSTER; i++)
        if (ev_post(c->loop, on_counted_task, &first[i]) != 0) atomic_fetch_add(&c->post_failures, 1);
    return NULL;
}

static void test_ev_post_from_four_threads_runs_each_task_once_on_loop_thread(void **state) {
    fx *x = *state;
    static post_ctx c;
    memset(&c, 0, sizeof c);
    c.loop = x->loop;
    c.loop_thread = pthread_self();
    atomic_init(&c.post_failures, 0);
    for (int p = 0; p < POSTERS; p++) c.last[p] = -1;
    assert_int_equal(pthread_barrier_init(&c.start, NULL, POSTERS), 0);
    pthread_t th[POSTERS];
    for (int p = 0; p < POSTERS; p++) {
        for (int i = 0; i < PER_POSTER; i++) post_args[p * PER_POSTER + i] = (post_arg){&c, p, i};
        assert_int_equal(pthread_create(&th[p], NULL, poster_main, &post_args[p * PER_POSTER]), 0);
    }
    bool guard_fired = false;
    long long guard = ev_timer_add(x->loop, GUARD_MS, guard_stop, &guard_fired);
    ev_run(x->loop); /* the last task stops it */
    for (int p = 0; p < POSTERS; p++) assert_int_equal(pthread_join(th[p], NULL), 0);
    pthread_barrier_destroy(&c.start);
    assert_false(guard_fired);
    assert_int_equal(ev_timer_del(x->loop, guard), 0);
    assert_int_equal(atomic_load(&c.post_failures), 0);
    assert_int_equal(c.total, POSTERS * PER_POSTER);
    for (int i = 0; i < POSTERS * PER_POSTER; i++) assert_int_equal(c.runs[i], 1);
    assert_int_equal(c.wrong_thread, 0);
    assert_int_equal(c.out_of_order, 0);
    assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 0); /* nothing left, nothing twice */
}

static void on_repost_task(ev_loop *loop, void *arg) {
    int *runs = arg;
    if (++*runs < 3 && ev_post(loop, on_repost_task, arg) != 0) abort();
}

static void test_ev_task_posted_by_a_task_runs_in_a_later_iteration(void **state) {
    fx *x = *state;
    int runs = 0;
    assert_int_equal(ev_post(x->loop, on_repost_task, &runs), 0);
    assert_int_equal(ev_post(x->loop, NULL, NULL), -EINVAL);
    assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 1);
    assert_int_equal(runs, 1);
    assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 1);
    assert_int_equal(runs, 2);
    assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 1);
    assert_int_equal(runs, 3);
    assert_int_equal(ev_process(x->loop, EV_DONT_WAIT), 0);
}

typedef struct stop_ctx {
    ev_loop *loop;
    sem_t sleeping;
    int befores;
    bool wait_failed;
} stop_ctx;

static void on_before_signal(ev_loop *loop, void *arg) {
    stop_ctx *s = arg;
    if (s->befores++ == 0) sem_post(&s->sleeping);
}

static void *stopper_main(void *arg) {
    stop_ctx *s = arg;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += GUARD_MS / 1000;
    int rc;
    while ((rc = sem_timedwait(&s->sleeping, &dl)) != 0 && errno == EINTR) {
    }
    if (rc != 0) s->wait_failed = true; /* read by the main thread after join */
    ev_stop(s->loop);
    return NULL;
}

static void test_ev_stop_from_another_thread_stops_run_promptly(void **state) {
    fx *x = *state;
    stop_ctx s = {.loop = x->loop};
    assert_int_equal(sem_init(&s.sleeping, 0, 0), 0);
    ev_set_before_sleep(x->loop, on_before_signal, &s);
    bool guard_fired = false;
    long long guard = ev_timer_add(x->loop, GUARD_MS, guard_stop, &guard_fired);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stopper_main, &s), 0);
    long long t0 = ev_now_ms();
    ev_run(x->loop); /* blocks in the poll (nothing is ready) until the other thread's stop */
    long long took_ms = ev_now_ms() - t0;
    assert_int_equal(pthread_join(th, NULL), 0);
    sem_destroy(&s.sleeping);
    ev_set_before_sleep(x->loop, NULL, NULL);
    assert_false(s.wait_failed);
    assert_false(guard_fired);
    assert_true(took_ms < GUARD_MS / 2);
    assert_int_equal(ev_timer_del(x->loop, guard), 0);
}

typedef struct cancel_arg {
    int *cancelled;
    int *ran;
} cancel_arg;

static void on_cancellable_task(ev_loop *loop, void *arg) {
    cancel_arg *a = arg;
    if (loop)
        (*a->ran)++;
    else
        (*a->cancelled)++;
    free(a); /* the task owns its argument either way */
}

typedef struct cancel_poster {
    ev_loop *loop;
    int *cancelled, *ran;
    int failures;
} cancel_poster;

static void *cancel_poster_main(void *arg) {
    cancel_poster *p = arg;
    for (int i = 0; i < 100; i++) {
        cancel_arg *a = malloc(sizeof *a);
        if (!a) {
            p->failures++;
            continue;
        }
        *a = (cancel_arg){p->cancelled, p->ran};
        if (ev_post(p->loop, on_cancellable_task, a) != 0) {
            free(a);
            p->failures++;
        }
    }
    return NULL;
}

static void test_ev_free_cancels_pending_tasks_without_leaking(void **state) {
    (void)state;
    ev_loop *loop = ev_loop_new(0);
    assert_non_null(loop);
    int cancelled = 0, ran = 0;
    for (int i = 0; i < 10; i++) {
        cancel_arg *a = malloc(sizeof *a);
        assert_non_null(a);
        *a = (cancel_arg){&cancelled, &ran};
        assert_int_equal(ev_post(loop, on_cancellable_task, a), 0);
    }
    /* Posts from another thread, quiesced by the join as ev_loop_free REQUIRES. */
    cancel_poster p = {loop, &cancelled, &ran, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cancel_poster_main, &p), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(p.failures, 0);
    ev_loop_free(loop); /* ASan's leak check fails the test if any task or arg is left */
    assert_int_equal(cancelled, 110);
    assert_int_equal(ran, 0);
    ev_loop_free(NULL);
}

static void test_ev_free_with_live_timers_and_fds_does_not_leak(void **state) {
    (void)state;
    ev_loop *loop = ev_loop_new(4);
    assert_non_null(loop);
    tlog l = {.ret = 5};
    targ t = {&l, 1};
    for (int i = 0; i < 50; i++) assert_true(ev_timer_add(loop, i, on_timer, &t) > 0);
    int p[2];
    make_pipe(p);
    flog fl;
    flog_init(&fl);
    assert_int_equal(ev_add(loop, p[0], EV_READABLE, on_file, &fl), 0);
    ev_loop_free(loop); /* never closes the caller's fds, never calls timers */
    assert_int_equal(l.calls, 0);
    assert_int_equal(fcntl(p[0], F_GETFD), FD_CLOEXEC);
    close(p[0]);
    close(p[1]);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_ev_readable_pipe_fires_until_drained),
        T(test_ev_writable_pipe_fires),
        T(test_ev_add_rejects_bad_arguments_and_leaves_mask_unchanged),
        T(test_ev_fd_table_grows_for_high_fd_numbers),
        T(test_ev_get_mask_tracks_add_del_and_barrier),
        T(test_ev_deleting_an_fd_in_another_callback_prevents_its_callback),
        T(test_ev_deleting_writable_in_read_callback_skips_the_write),
        T(test_ev_deleting_readable_in_read_callback_keeps_the_write),
        T(test_ev_direction_readded_in_same_iteration_waits_for_next_poll),
        T(test_ev_reused_fd_number_gets_no_stale_event),
        T(test_ev_readable_fires_before_writable_without_barrier),
        T(test_ev_barrier_fires_writable_before_readable),
        T(test_ev_timers_fire_in_deadline_order),
        T(test_ev_timer_never_fires_early),
        T(test_ev_periodic_timer_reschedules_until_nomore),
        T(test_ev_deleted_timer_never_fires),
        T(test_ev_timer_deleted_by_earlier_timer_in_same_batch_does_not_fire),
        T(test_ev_timer_deleting_itself_ignores_its_return_value),
        T(test_ev_zero_interval_timer_fires_once_per_iteration),
        T(test_ev_200_timers_fire_in_deadline_order),
        T(test_ev_timer_add_rejects_null_callback),
        T(test_ev_before_sleep_runs_before_each_poll),
        T(test_ev_stop_in_before_sleep_does_not_block_the_poll),
        T(test_ev_stop_before_run_is_sticky),
        T(test_ev_wakeup_returns_a_blocking_poll),
        T(test_ev_post_from_four_threads_runs_each_task_once_on_loop_thread),
        T(test_ev_task_posted_by_a_task_runs_in_a_later_iteration),
        T(test_ev_stop_from_another_thread_stops_run_promptly),
        T(test_ev_free_cancels_pending_tasks_without_leaking),
        T(test_ev_free_with_live_timers_and_fds_does_not_leak),
    };
    return cmocka_run_group_tests_name("ev", tests, NULL, NULL);
}
