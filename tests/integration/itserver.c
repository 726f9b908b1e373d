/* itserver.c -- st_itserver: one harness server (tests/util/server_harness.h) for the shell and
 * Python integration tests, so they get the same free-port locking, temporary directory,
 * readiness wait, log capture and clean stop as the C tests.
 *
 *   st_itserver [SERVER ARGS...]
 *
 * Starts strata-server with the arguments, prints "PORT DATA_DIR" and a newline on stdout once it
 * answers PING, then waits for stdin to close (the caller closes it, or dies), stops the server
 * with SIGTERM and exits 0 if it exited cleanly. On any failure the server's log goes to stderr
 * and the exit status is 1. */
#include <stdio.h>
#include <unistd.h>

#include "server_harness.h"

int main(int argc, char **argv) {
    static st_server srv;
    if (st_server_start(&srv, "it-launcher", (const char *const *)(argv + 1)) != 0) {
        st_server_free(&srv);
        return 1;
    }
    (void)argc;
    printf("%d %s\n", srv.port, srv.data_dir);
    fflush(stdout);
    char buf[256];
    while (read(0, buf, sizeof buf) > 0) {
    }
    int rc = st_server_free(&srv);
    return st_it_finish(rc != 0) ? 1 : 0;
}
