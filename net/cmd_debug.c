/* cmd_debug.c -- DEBUG: the administrator's debugging commands, off unless enable_debug_command
 * allows them (as Redis 7's enable-debug-command: no | yes | local), since DEBUG FAULT makes the
 * disk fail on purpose.
 *
 *   DEBUG FAULT <write|sync|rename|read> <nth> <errno> [PERSISTENT] [PATH <substring>]
 *       the nth next such call of the engine's io layer fails with errno (ENOSPC, EIO, a number);
 *       PERSISTENT: that one and every later one, until DEBUG FAULT OFF; PATH: only files whose
 *       path holds the substring (".log", ".sst", "MANIFEST")
 *   DEBUG FAULT OFF
 *   DEBUG SLEEP <seconds>    blocks this worker, as Redis's does (tests of timeouts and latency)
 *   DEBUG LOG <message>      writes the message to the server log
 *   DEBUG HELP */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cmd.h"
#include "conn.h"
#include "server.h"

static const struct {
    const char *name;
    int err;
} errnos[] = {{"ENOSPC", ENOSPC}, {"EIO", EIO},       {"EDQUOT", EDQUOT}, {"EROFS", EROFS},   {"EACCES", EACCES},
              {"EPERM", EPERM},   {"ENOMEM", ENOMEM}, {"EFBIG", EFBIG},   {"EAGAIN", EAGAIN}, {"EINVAL", EINVAL}};

static int parse_errno(const cmd_ctx *x, size_t i) {
    char buf[16];
    size_t n = x->argvlen[i] < sizeof buf - 1 ? x->argvlen[i] : sizeof buf - 1;
    memcpy(buf, x->argv[i], n);
    buf[n] = 0;
    for (size_t k = 0; k < sizeof errnos / sizeof *errnos; k++)
        if (strcasecmp(buf, errnos[k].name) == 0) return errnos[k].err;
    char *end;
    long v = strtol(buf, &end, 10);
    return *buf && !*end && v > 0 && v < 4096 ? (int)v : -1;
}

static void debug_fault(cmd_ctx *x) {
    if (x->argc == 3 && cmd_arg_is(x, 2, "off")) {
        ks_debug_fault_clear();
        server_log(x->srv, CONFIG_LOG_WARNING, "DEBUG FAULT OFF: io faults disarmed");
        reply_shared(x->rb, REPLY_SH_OK);
        return;
    }
    if (x->argc < 5) {
        reply_shared(x->rb, REPLY_SH_SYNTAX);
        return;
    }
    char op[16], path[128] = "";
    size_t n = x->argvlen[2] < sizeof op - 1 ? x->argvlen[2] : sizeof op - 1;
    for (size_t k = 0; k < n; k++) op[k] = (char)(x->argv[2][k] | 0x20);
    op[n] = 0;
    long long nth;
    if (!cmd_arg_ll(x, 3, &nth)) return;
    int err = parse_errno(x, 4);
    bool persistent = false;
    for (size_t i = 5; i < x->argc; i++) {
        if (cmd_arg_is(x, i, "persistent")) {
            persistent = true;
        } else if (cmd_arg_is(x, i, "path") && i + 1 < x->argc && x->argvlen[i + 1] < sizeof path) {
            memcpy(path, x->argv[i + 1], x->argvlen[i + 1]);
            path[x->argvlen[i + 1]] = 0;
            i++;
        } else {
            reply_shared(x->rb, REPLY_SH_SYNTAX);
            return;
        }
    }
    if (err < 0 || nth < 1 || nth > 1000000000 ||
        ks_debug_fault_arm(op, (int)nth, err, persistent, path[0] ? path : NULL)) {
        reply_error(x->rb, "ERR DEBUG FAULT <write|sync|rename|read> <nth >= 1> <errno name or number> "
                           "[PERSISTENT] [PATH <substring>]");
        return;
    }
    server_log(x->srv, CONFIG_LOG_WARNING, "DEBUG FAULT: call %lld of %s%s%s fails with %s%s", nth, op,
               path[0] ? " on paths holding " : "", path, strerror(err), persistent ? ", and every later one" : "");
    reply_shared(x->rb, REPLY_SH_OK);
}

void cmd_debug(cmd_ctx *x) {
    int mode = x->srv->cfg->enable_debug_command;
    if (mode == CONFIG_DEBUG_NO || (mode == CONFIG_DEBUG_LOCAL && !x->c->local)) {
        reply_error(x->rb, "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", "
                           "you can run it from a local connection, otherwise you need to set this option in the "
                           "configuration file, and then restart the server.");
        return;
    }
    if (cmd_arg_is(x, 1, "fault")) {
        debug_fault(x);
    } else if (cmd_arg_is(x, 1, "sleep") && x->argc == 3) {
        double secs;
        if (!cmd_arg_double(x, 2, &secs)) return;
        if (secs > 0) {
            struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
            while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
            }
        }
        reply_shared(x->rb, REPLY_SH_OK);
    } else if (cmd_arg_is(x, 1, "log") && x->argc == 3) {
        server_log(x->srv, CONFIG_LOG_WARNING, "DEBUG LOG: %.*s", (int)x->argvlen[2], (const char *)x->argv[2]);
        reply_shared(x->rb, REPLY_SH_OK);
    } else if (cmd_arg_is(x, 1, "help") && x->argc == 2) {
        static const char *const lines[] = {
            "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "FAULT <write|sync|rename|read> <nth> <errno> [PERSISTENT] [PATH <substring>]",
            "    Make the nth next such disk call fail (and every later one with PERSISTENT).",
            "FAULT OFF",
            "    Disarm every fault.",
            "SLEEP <seconds>",
            "    Stop the server's worker for <seconds>.",
            "LOG <message>",
            "    Write <message> to the server log.",
            "HELP",
            "    Print this help.",
        };
        reply_array_header(x->rb, sizeof lines / sizeof *lines);
        for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) reply_simple(x->rb, lines[i]);
    } else {
        reply_errorf(x->rb, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try DEBUG HELP.",
                     (int)(x->argvlen[1] > 32 ? 32 : x->argvlen[1]), (const char *)x->argv[1]);
    }
}
