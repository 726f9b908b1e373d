/* ev.h -- the server's event loop (ae-shaped): level-triggered file events, monotonic timers,
 * before/after-sleep hooks, and a cross-thread task queue. One loop per worker thread; the kernel
 * interface (epoll) sits behind ev_backend.h so another backend can be added.
 *
 * One iteration (ev_process) is, in order:
 *   1. before_sleep hook        (the server's group commit + reply flush in `always` mode)
 *   2. poll the backend         (blocks until an fd is ready, the next timer is due, or a wakeup)
 *   3. after_sleep hook
 *   4. file events              (posted tasks run here, from the loop's internal wakeup fd)
 *   5. due timers
 *
 * Thread-safety: a loop and everything registered on it belong to the thread that runs it. Only
 * ev_post, ev_wakeup and ev_stop may be called from other threads.
 *
 * Invariants:
 * E1  A loop is driven by one thread at a time. Every call except ev_post/ev_wakeup/ev_stop is
 *     made on that thread (setup before the thread starts is fine if the hand-off synchronises,
 *     e.g. pthread_create). ev_process/ev_run are not re-entrant: callbacks never call them.
 * E2  A callback runs only for readiness polled while its registration was live: once
 *     ev_del(fd, dir) returns, readiness already collected for (fd, dir) in this iteration is
 *     dropped -- even if dir is added again before it would have been delivered.
 * E3  So a closed and reused fd number never sees readiness polled for its previous file
 *     (given the REQUIRES on ev_add: ev_del before close).
 * E4  Per fd and iteration each direction fires at most once, readable before writable; with
 *     EV_BARRIER set on the fd, writable before readable (never a write after a read in the same
 *     iteration: replies produced by this iteration's reads wait for before_sleep).
 * E5  Timers never fire early (CLOCK_MONOTONIC, ms granularity) and fire in (deadline, schedule
 *     order) order. A timer fires at most once per ev_process; a timer added or rescheduled by a
 *     timer callback waits for a later call, so a 0 ms periodic timer cannot starve the loop.
 * E6  After ev_timer_del(id) returns, id's callback never starts (even if it was due in the same
 *     batch). Deleting a timer from its own callback makes its return value ignored.
 * E7  Each posted task runs exactly once: on the loop thread during a later iteration (tasks from
 *     one posting thread in post order), or -- if the loop is freed first -- from ev_loop_free with
 *     loop == NULL (cancellation: the task must release arg and touch no loop).
 * E8  A stop request is sticky: ev_stop makes the running ev_run return after its current
 *     iteration, or the next ev_run return before its first. ev_run consumes the request.
 */
#ifndef STRATA_NET_EV_H
#define STRATA_NET_EV_H

#include <stdbool.h>

typedef struct ev_loop ev_loop;

/* File event masks. EV_BARRIER is a per-fd flag, not an event (E4); it is cleared with
 * EV_WRITABLE. */
#define EV_NONE     0
#define EV_READABLE 1
#define EV_WRITABLE 2
#define EV_BARRIER  4

/* ev_process flags. */
#define EV_DONT_WAIT 1 /* poll without blocking */
#define EV_NO_HOOKS  2 /* skip before_sleep/after_sleep for this call */

/* A timer callback's return value that deletes the timer (any negative value does). */
#define EV_NOMORE (-1)

/* mask is the single direction firing: EV_READABLE or EV_WRITABLE. */
typedef void ev_file_fn(ev_loop *loop, int fd, void *arg, int mask);
/* Returns the next interval in ms (>= 0: fire again that long after now) or EV_NOMORE. */
typedef long long ev_timer_fn(ev_loop *loop, long long id, void *arg);
typedef void ev_hook_fn(ev_loop *loop, void *arg);
/* loop is the running loop, or NULL when ev_loop_free cancels the task (E7). */
typedef void ev_task_fn(ev_loop *loop, void *arg);

/* Creates a loop. setsize is the initial fd-table size (the table grows as fds are added;
 * values below 16 are raised). Returns NULL with errno set (ENOMEM, or the epoll_create1/eventfd
 * error). Release with ev_loop_free. */
ev_loop *ev_loop_new(int setsize);
/* Frees the loop, its timers (without calling them) and its kernel objects; never closes the
 * caller's fds. Queued tasks run with loop == NULL on the calling thread (E7). NULL-safe.
 * REQUIRES: no ev_run/ev_process is in progress and no thread will ev_post/ev_wakeup/ev_stop
 * this loop again (join or otherwise quiesce posters first). */
void ev_loop_free(ev_loop *loop);

/* Runs iterations until a stop request (E8), then consumes it and returns. */
void ev_run(ev_loop *loop);
/* Requests a stop (E8). Thread-safe: from another thread it also wakes a sleeping loop. */
void ev_stop(ev_loop *loop);
/* Runs one iteration (see above). Blocks in the poll unless flags has EV_DONT_WAIT or a stop is
 * pending. Returns the number of callbacks run (file events, timers, tasks; not hooks). */
int ev_process(ev_loop *loop, int flags);

/* Registers fn(arg) for the directions in mask (EV_READABLE and/or EV_WRITABLE, optionally
 * EV_BARRIER), adding to the fd's existing directions; re-adding a direction replaces its fn/arg.
 * Returns 0, -EBADF (fd < 0), -EINVAL (no direction in mask, or fn NULL), -ENOMEM, or the
 * epoll_ctl -errno (e.g. -EPERM for a regular file); on error the registration is unchanged.
 * REQUIRES: ev_del(fd, EV_READABLE | EV_WRITABLE) before close(fd). */
int ev_add(ev_loop *loop, int fd, int mask, ev_file_fn *fn, void *arg);
/* Removes the directions/flag in mask; removing EV_WRITABLE also clears EV_BARRIER. Unknown fds
 * and directions are ignored. Never fails (E2 holds even if the kernel already dropped fd). */
void ev_del(ev_loop *loop, int fd, int mask);
/* The fd's registered directions and flag (EV_NONE if unregistered). */
int ev_get_mask(const ev_loop *loop, int fd);

/* Adds a timer firing fn(arg) after at least ms milliseconds (ms < 0 counts as 0). Returns the
 * timer's id (> 0, unique among live timers), -EINVAL (fn NULL) or -ENOMEM. */
long long ev_timer_add(ev_loop *loop, long long ms, ev_timer_fn *fn, void *arg);
/* Like ev_timer_add, but fires once ev_now_ms() >= deadline_ms (an absolute CLOCK_MONOTONIC
 * time in ms; a past deadline fires in the next timer phase). */
long long ev_timer_add_at(ev_loop *loop, long long deadline_ms, ev_timer_fn *fn, void *arg);
/* Deletes a timer (E6). Returns 0, or -ENOENT if id is not a live timer. */
int ev_timer_del(ev_loop *loop, long long id);

/* Sets (fn != NULL) or clears the hook run before every poll / after every poll. */
void ev_set_before_sleep(ev_loop *loop, ev_hook_fn *fn, void *arg);
void ev_set_after_sleep(ev_loop *loop, ev_hook_fn *fn, void *arg);

/* Thread-safe. Queues fn(loop, arg) to run on the loop thread soon (E7) and wakes the loop.
 * Lock-free (one allocation, one CAS; the wakeup write is skipped when the queue was already
 * non-empty). Returns 0, -EINVAL (fn NULL) or -ENOMEM; on error fn is never called. */
int ev_post(ev_loop *loop, ev_task_fn *fn, void *arg);
/* Thread-safe. Makes a sleeping (or the next) poll return at once. */
void ev_wakeup(ev_loop *loop);

/* CLOCK_MONOTONIC in milliseconds: the clock timers use. */
long long ev_now_ms(void);
/* Name of the compiled-in backend ("epoll"). */
const char *ev_backend_name(void);

#endif
