/* cmd_tenant.c -- TENANT: the administrator's management of tenants (tenant.h).
 *
 *   TENANT ADD name password [MAXBYTES size] [MAXKEYS n]   -> OK
 *   TENANT DEL name                                        -> OK (its data goes: O(1), see below)
 *   TENANT PASSWD name password                            -> OK
 *   TENANT QUOTA name [MAXBYTES size] [MAXKEYS n]          -> OK (0 removes a quota)
 *   TENANT LIST                                            -> names, sorted
 *   TENANT INFO name                                       -> map: name id keys bytes ops ...
 *   TENANT HELP
 * CMD_ADMIN in the command table: a tenant's connection gets -NOPERM before it gets here.
 * Every change is stored before the reply (tenant.c), so it survives a restart. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "conn.h"
#include "server.h"
#include "tenant.h"

static void reply_tenant_error(cmd_ctx *x, int rc, size_t i) {
    int n = (int)(x->argvlen[i] > 64 ? 64 : x->argvlen[i]);
    const char *name = (const char *)x->argv[i];
    switch (rc) {
    case KS_ENOTFOUND: reply_errorf(x->rb, "ERR no such tenant '%.*s'", n, name); break;
    case TENANT_EEXIST: reply_errorf(x->rb, "ERR tenant '%.*s' already exists", n, name); break;
    case TENANT_EFULL: reply_errorf(x->rb, "ERR too many tenants (at most %d)", CONFIG_MAX_TENANTS); break;
    case TENANT_EINVAL:
        reply_errorf(x->rb, "ERR invalid tenant name or password: a name is 1 to %d of A-Z a-z 0-9 _ . - (not "
                     "'default'), a password is not empty", CONFIG_TENANT_NAME_MAX);
        break;
    default: cmd_reply_ks_error(x, rc); break;
    }
}

/* [MAXBYTES size] [MAXKEYS n] from argv[from]: false after replying. */
static bool parse_quota(cmd_ctx *x, size_t from, uint64_t *mb, bool *has_mb, uint64_t *mk, bool *has_mk) {
    *has_mb = *has_mk = false;
    for (size_t i = from; i < x->argc; i += 2) {
        if (i + 1 >= x->argc) {
            reply_shared(x->rb, REPLY_SH_SYNTAX);
            return false;
        }
        char v[32];
        size_t n = x->argvlen[i + 1] < sizeof v - 1 ? x->argvlen[i + 1] : sizeof v - 1;
        memcpy(v, x->argv[i + 1], n);
        v[n] = 0;
        if (cmd_arg_is(x, i, "maxbytes")) {
            if (!config_parse_size(v, mb) || x->argvlen[i + 1] != n) {
                reply_error(x->rb, "ERR MAXBYTES must be a size in bytes (e.g. 1048576, 64mb, 1gb)");
                return false;
            }
            *has_mb = true;
        } else if (cmd_arg_is(x, i, "maxkeys")) {
            long long k;
            if (!cmd_arg_ll(x, i + 1, &k)) return false;
            if (k < 0) {
                reply_error(x->rb, "ERR MAXKEYS must not be negative");
                return false;
            }
            *mk = (uint64_t)k;
            *has_mk = true;
        } else {
            reply_shared(x->rb, REPLY_SH_SYNTAX);
            return false;
        }
    }
    return true;
}

static void tenant_del_cmd(cmd_ctx *x) {
    uint32_t id;
    int rc = tenant_del(x->srv->tenants, x->argv[2], x->argvlen[2], &id);
    if (rc) {
        reply_tenant_error(x, rc, 2);
        return;
    }
    /* Gone for AUTH, and its id retired: no connection can address its keys, and the compaction
     * filter drops them as compactions pass (COMPACT reclaims the space at once). Its clients are
     * closed now, blocked ones included, as Redis's ACL DELUSER does. */
    cmd_kill_tenant_clients(x->srv, id);
    server_log(x->srv, CONFIG_LOG_NOTICE, "tenant '%.*s' (id %u) deleted; its data goes with the next compactions",
               (int)x->argvlen[2],
               (const char *)x->argv[2], id);
    reply_shared(x->rb, REPLY_SH_OK);
}

typedef struct names {
    char **v;
    size_t n, cap;
    bool oom;
} names;

static void collect(void *arg, const char *name) {
    names *ns = arg;
    if (ns->oom) return;
    if (ns->n == ns->cap) {
        size_t nc = ns->cap ? ns->cap * 2 : 16;
        char **v = realloc(ns->v, nc * sizeof *v);
        if (!v) {
            ns->oom = true;
            return;
        }
        ns->v = v;
        ns->cap = nc;
    }
    if (!(ns->v[ns->n] = strdup(name))) ns->oom = true;
    else ns->n++;
}

static void tenant_info_cmd(cmd_ctx *x) {
    tenant_stat st;
    int rc = tenant_stat_get(x->srv->tenants, x->argv[2], x->argvlen[2], &st);
    if (rc) {
        reply_tenant_error(x, rc, 2);
        return;
    }
    reply_map_header(x->rb, 9);
    reply_bulk_str(x->rb, "name");
    reply_bulk_str(x->rb, st.name);
    reply_bulk_str(x->rb, "id");
    reply_int(x->rb, st.id);
    reply_bulk_str(x->rb, "keys");
    reply_int(x->rb, (long long)st.keys);
    reply_bulk_str(x->rb, "bytes");
    reply_int(x->rb, (long long)st.bytes);
    reply_bulk_str(x->rb, "ops");
    reply_int(x->rb, (long long)st.ops);
    reply_bulk_str(x->rb, "max_keys");
    reply_int(x->rb, (long long)st.max_keys);
    reply_bulk_str(x->rb, "max_bytes");
    reply_int(x->rb, (long long)st.max_bytes);
    reply_bulk_str(x->rb, "quota_refusals");
    reply_int(x->rb, (long long)st.refused);
    reply_bulk_str(x->rb, "source");
    reply_bulk_str(x->rb, st.from_config ? "config" : "runtime");
}

void cmd_tenant(cmd_ctx *x) {
    tenant_reg *r = x->srv ? x->srv->tenants : NULL;
    if (!r) {
        reply_error(x->rb, "ERR tenants are not available");
        return;
    }
    if (cmd_arg_is(x, 1, "help") && x->argc == 2) {
        static const char *const lines[] = {
            "TENANT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ADD <name> <password> [MAXBYTES <size>] [MAXKEYS <count>]",
            "    Create a tenant; clients use it with AUTH <name> <password>.",
            "DEL <name>",
            "    Delete a tenant and all of its data; its connections are closed.",
            "PASSWD <name> <password>",
            "    Change a tenant's password.",
            "QUOTA <name> [MAXBYTES <size>] [MAXKEYS <count>]",
            "    Change a tenant's quotas (0: none).",
            "LIST",
            "    Return the tenants' names.",
            "INFO <name>",
            "    Return a tenant's id, keys, bytes, ops, quotas.",
            "HELP",
            "    Print this help.",
        };
        reply_array_header(x->rb, sizeof lines / sizeof *lines);
        for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) reply_simple(x->rb, lines[i]);
        return;
    }
    uint64_t mb = 0, mk = 0;
    bool has_mb, has_mk;
    int rc;
    if (cmd_arg_is(x, 1, "add") && x->argc >= 4) {
        if (!parse_quota(x, 4, &mb, &has_mb, &mk, &has_mk)) return;
        uint32_t id;
        if ((rc = tenant_add(r, x->argv[2], x->argvlen[2], x->argv[3], x->argvlen[3], mb, mk, &id)))
            reply_tenant_error(x, rc, 2);
        else
            reply_shared(x->rb, REPLY_SH_OK);
    } else if (cmd_arg_is(x, 1, "del") && x->argc == 3) {
        tenant_del_cmd(x);
    } else if (cmd_arg_is(x, 1, "passwd") && x->argc == 4) {
        if ((rc = tenant_passwd(r, x->argv[2], x->argvlen[2], x->argv[3], x->argvlen[3])))
            reply_tenant_error(x, rc, 2);
        else
            reply_shared(x->rb, REPLY_SH_OK);
    } else if (cmd_arg_is(x, 1, "quota") && x->argc >= 3) {
        if (!parse_quota(x, 3, &mb, &has_mb, &mk, &has_mk)) return;
        if ((rc = tenant_set_quota(r, x->argv[2], x->argvlen[2], has_mb ? &mb : NULL, has_mk ? &mk : NULL)))
            reply_tenant_error(x, rc, 2);
        else
            reply_shared(x->rb, REPLY_SH_OK);
    } else if (cmd_arg_is(x, 1, "list") && x->argc == 2) {
        names ns = {0};
        tenant_list(r, collect, &ns); /* one snapshot: the count and the names agree */
        if (ns.oom) cmd_reply_ks_error(x, KS_ENOMEM);
        else reply_array_header(x->rb, ns.n);
        for (size_t i = 0; i < ns.n; i++) {
            if (!ns.oom) reply_bulk_str(x->rb, ns.v[i]);
            free(ns.v[i]);
        }
        free(ns.v);
    } else if (cmd_arg_is(x, 1, "info") && x->argc == 3) {
        tenant_info_cmd(x);
    } else {
        char sub[32];
        size_t n = x->argvlen[1] < sizeof sub - 1 ? x->argvlen[1] : sizeof sub - 1;
        memcpy(sub, x->argv[1], n);
        sub[n] = 0;
        reply_errorf(x->rb, "ERR unknown subcommand or wrong number of arguments for '%s'. Try TENANT HELP.", sub);
    }
}
