/* ev_backend.h -- internal: what ev.c needs from a kernel readiness interface. ev_epoll.c is the
 * only implementation; a kqueue or io_uring-poll backend would implement the same four calls.
 * Masks here carry only EV_READABLE | EV_WRITABLE. Not for use outside ev.c. */
#ifndef STRATA_NET_EV_BACKEND_H
#define STRATA_NET_EV_BACKEND_H

typedef struct ev_backend ev_backend;

/* One ready fd as reported by a poll. The backend fills fd and mask; ev.c stamps the
 * registration generations right after the poll (E2, E3). */
struct ev_fired {
    int fd;
    int mask;
    unsigned rgen, wgen;
};

/* Creates a backend. Returns NULL with errno set. */
ev_backend *ev_backend_new(void);
/* NULL-safe. */
void ev_backend_free(ev_backend *b);
/* Moves fd's interest from old_mask to new_mask (add, modify or delete as the masks say).
 * Returns 0 or -errno. REQUIRES: old_mask != new_mask. */
int ev_backend_set(ev_backend *b, int fd, int old_mask, int new_mask);
/* Waits up to timeout_ms (-1: forever, 0: no wait) and stores at most max ready fds (error and
 * hang-up report both directions). Returns the count (0 on timeout or EINTR) or -errno. */
int ev_backend_poll(ev_backend *b, int timeout_ms, struct ev_fired *fired, int max);

#endif
