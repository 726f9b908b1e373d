/* ev_epoll.c -- the epoll backend (ev_backend.h). Level-triggered, like Redis's ae_epoll.c: a
 * readable fd keeps being reported until it is drained, so the loop may stop early in a burst
 * (a bounded fired array) without losing readiness. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ev.h"
#include "ev_backend.h"

struct ev_backend {
    int epfd;
    int cap;                   /* entries in events */
    struct epoll_event *events;
};

ev_backend *ev_backend_new(void) {
    ev_backend *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (b->epfd < 0) {
        int e = errno;
        free(b);
        errno = e;
        return NULL;
    }
    return b;
}

void ev_backend_free(ev_backend *b) {
    if (!b) return;
    close(b->epfd);
    free(b->events);
    free(b);
}

int ev_backend_set(ev_backend *b, int fd, int old_mask, int new_mask) {
    struct epoll_event ee = {0};
    if (new_mask & EV_READABLE) ee.events |= EPOLLIN;
    if (new_mask & EV_WRITABLE) ee.events |= EPOLLOUT;
    ee.data.fd = fd;
    int op = old_mask == EV_NONE ? EPOLL_CTL_ADD : new_mask == EV_NONE ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    return epoll_ctl(b->epfd, op, fd, &ee) == 0 ? 0 : -errno;
}

int ev_backend_poll(ev_backend *b, int timeout_ms, struct ev_fired *fired, int max) {
    if (max > b->cap) {
        /* Grown lazily here, never during dispatch. On ENOMEM keep the smaller buffer: level
         * triggering reports the rest next time. */
        struct epoll_event *ne = realloc(b->events, (size_t)max * sizeof *ne);
        if (ne) {
            b->events = ne;
            b->cap = max;
        }
    }
    int n = max < b->cap ? max : b->cap;
    if (n <= 0) return -ENOMEM;
    int got = epoll_wait(b->epfd, b->events, n, timeout_ms);
    if (got < 0) return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < got; i++) {
        const struct epoll_event *e = &b->events[i];
        int mask = 0;
        if (e->events & EPOLLIN) mask |= EV_READABLE;
        if (e->events & EPOLLOUT) mask |= EV_WRITABLE;
        /* Let the read or write callback see the error through its syscall. */
        if (e->events & (EPOLLERR | EPOLLHUP)) mask |= EV_READABLE | EV_WRITABLE;
        fired[i].fd = e->data.fd;
        fired[i].mask = mask;
    }
    return got;
}

const char *ev_backend_name(void) { return "epoll"; }
