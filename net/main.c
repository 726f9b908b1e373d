/* main.c -- strata-server: load the configuration, start the server, wait for a stop signal.
 * Exit codes: 0 after a clean shutdown, 1 when the configuration or the start fails (the reason
 * is printed), 1 when the engine could not be closed cleanly. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "server.h"

#define STRATA_VERSION "0.1.0"

/* The one global of the server (house style): filled here, read-only after server_start except
 * the runtime-settable parameters, which CONFIG SET changes under server.cfg_lock. */
static config g_config;

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("Usage: strata-server [--config FILE] [--port N] [--bind ADDR ...] [--dir DIR]\n"
                   "                     [--appendfsync always|everysec|no] [--workers N]\n"
                   "                     [--memory-limit SIZE] [--requirepass PW] [--KEY VALUE ...]\n\n");
            config_print_help(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-v")) {
            printf("strata-server v=%s (Redis protocol 7.0 compatible)\n", STRATA_VERSION);
            return 0;
        }
    }
    char err[1024] = "";
    if (config_load(&g_config, argc, argv, err, sizeof err) != CONFIG_OK ||
        config_make_dirs(&g_config, err, sizeof err) != CONFIG_OK) {
        fprintf(stderr, "strata-server: %s\n", err);
        config_free(&g_config);
        return 1;
    }
    static server srv;
    if (server_start(&srv, &g_config, err, sizeof err)) {
        fprintf(stderr, "strata-server: %s\n", err);
        /* nothing was served: a quick exit is the clean path (threads may be half started) */
        return 1;
    }
    int code = server_wait_and_stop(&srv);
    config_free(&g_config);
    return code;
}
