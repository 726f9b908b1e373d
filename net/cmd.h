/* cmd.h -- what a command proc sees, and the command table's shape.
 *
 * A proc parses its arguments, calls the keyspace (ks_*), and appends exactly one reply to x->rb.
 * It never builds engine keys and never touches the socket. Writes report the lsn to commit in
 * x->lsn (the largest one); the connection sends this turn's replies only after the worker's
 * group commit covered it (docs/ARCHITECTURE.md, "Life of a SET").
 * The dispatcher has already checked: the command exists, its arity, authentication. */
#ifndef STRATA_NET_CMD_H
#define STRATA_NET_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyspace.h"
#include "reply.h"

typedef struct server server;
typedef struct conn conn;

typedef struct cmd_ctx {
    server *srv;
    conn *c;
    reply_buf *rb;          /* c's output */
    ks *k;
    ks_ns ns;               /* the connection's tenant and database */
    size_t argc;
    const uint8_t **argv;   /* views, valid for the duration of the proc */
    const size_t *argvlen;
    int64_t now_ms;         /* wall clock at dispatch, ms: one "now" per command, as Redis */
    const struct cmd_spec *spec; /* the command running (NULL in unit tests that call procs) */
    bool in_exec;           /* run by EXEC: blocking commands do not block; writes are not yet
                             * visible, so watchers and blocked clients hear of them from EXEC
                             * after its commit (wrote says there is something to tell) */
    bool wrote;
    uint64_t lsn;           /* out: largest lsn this command wrote (0: none) */
} cmd_ctx;

typedef void cmd_proc(cmd_ctx *x);

/* Flags, as Redis's command table. */
enum cmd_flags {
    CMD_WRITE = 1u << 0,
    CMD_READONLY = 1u << 1,
    CMD_FAST = 1u << 2,
    CMD_NOAUTH = 1u << 3,     /* allowed before AUTH */
    CMD_ADMIN = 1u << 4,
    CMD_NOSCRIPT = 1u << 5,
    CMD_LOADING = 1u << 6,
    CMD_STALE = 1u << 7,
    CMD_PUBSUB = 1u << 8,
    CMD_DENYOOM = 1u << 9,    /* may grow the data: refused for a tenant at its quota */
};

/* A subcommand of a container command (MEMORY USAGE, OBJECT ENCODING, ...), for the containers
 * whose subcommands the command table knows (cmd_subs): cmd_run_sub dispatches them, COMMAND INFO
 * lists them and COMMAND GETKEYS finds their key. Tables end with an entry whose name is NULL. */
typedef struct cmd_sub {
    const char *name;   /* lower case, without the container's ("usage") */
    cmd_proc *proc;
    int arity;          /* as Redis's '<container>|<sub>': the container's name counts */
    unsigned flags;     /* for COMMAND INFO only: the dispatcher checks the container's */
    int key;            /* argv index of its one key (MEMORY USAGE, OBJECT ...: 2); 0: no key */
} cmd_sub;

typedef struct cmd_spec {
    const char *name;   /* lower case */
    cmd_proc *proc;
    int arity;          /* > 0: exactly; < 0: at least -arity (the name counts) */
    unsigned flags;
    int first_key, last_key, step; /* as COMMAND INFO reports them */
    const char *group;  /* "string", "generic", "connection", "server" */
    const char *summary;
} cmd_spec;

/* ---- argument helpers (reply with the Redis error and return false on bad input) ------------ */

/* Case-insensitive compare of argv[i] with a lower-case literal. */
bool cmd_arg_is(const cmd_ctx *x, size_t i, const char *lit);
/* Integer argument: "-ERR value is not an integer or out of range" on failure. */
bool cmd_arg_ll(cmd_ctx *x, size_t i, long long *out);
/* Float argument: "-ERR value is not a valid float" on failure. */
bool cmd_arg_double(cmd_ctx *x, size_t i, double *out);
/* Replies with the error text for a keyspace status (ENOTFOUND is the caller's business). */
void cmd_reply_ks_error(cmd_ctx *x, int rc);
/* Tells WATCH and blocked clients (watch.h, block.h) that the keys of x's command changed. */
void cmd_touch_keys(cmd_ctx *x);
/* Writes batch b and records its lsn; on failure replies with the error and returns false. */
bool cmd_write(cmd_ctx *x, ks_batch *b);
/* A per-thread batch, cleared, for procs that write (no allocation per command). */
ks_batch *cmd_batch(cmd_ctx *x);

/* Closes every connection of tenant id `tenant` (TENANT DEL: ids are never reused), each on its
 * own worker (cmd_server.c). */
void cmd_kill_tenant_clients(server *s, uint32_t tenant);

/* ---- collections (cmd_coll.c) ---------------------------------------------------------------- */

/* The live collection at key, which must be of `type`: 1 found (*c filled), 0 missing or expired
 * (*c zeroed), -1 after replying (WRONGTYPE, a corrupt record or a storage error). read: count a
 * keyspace hit or miss for INFO, as Redis's lookupKeyRead does. */
int cmd_coll_lookup(cmd_ctx *x, const uint8_t *key, size_t klen, int type, bool read, ks_coll *c);
/* Appends to b c's record, or a delete of key when c has no elements: empty collections vanish. */
int cmd_batch_coll(cmd_ctx *x, ks_batch *b, const uint8_t *key, size_t klen, const ks_coll *c);
/* dup[i] = whether item i equals an earlier item. false after replying OOM. */
bool cmd_mark_dups(cmd_ctx *x, size_t n, const uint8_t *const *p, const size_t *len, bool *dup);
/* A pseudo-random number from a per-thread state (random picks; not cryptographic). */
uint64_t cmd_random(void);
/* count random elements of a collection of size elements, through its iterator it: distinct ones
 * (uniq; all of them when count >= size), or with repeats. Calls emit for each pick and sets
 * *emitted. Up to 4096 elements the picks are uniform (one pass; emitted in element order); above,
 * each pick seeks to a random byte string (O(log n) a pick, but an element after a wide gap in
 * the key order is likelier). KS_ECORRUPT: fewer elements than size. */
typedef void cmd_pick_fn(void *arg, const uint8_t *el, size_t elen, const uint8_t *val, size_t vlen);
/* The most picks with repeats one call may ask for (HRANDFIELD, SRANDMEMBER, ZRANDMEMBER with a
 * negative count): Redis has no limit and builds the whole reply; a worker here would stall on it. */
#define CMD_RANDOM_MAX ((uint64_t)1 << 24)
/* Up to this size a random pick walks the whole collection (uniform); above, it seeks. */
#define CMD_RANDOM_PASS_MAX 4096u
/* false after replying an error when count is over CMD_RANDOM_MAX. */
bool cmd_random_count_ok(cmd_ctx *x, uint64_t count);
int cmd_coll_random(ks_elems *it, uint64_t size, uint64_t count, bool uniq, cmd_pick_fn *emit, void *arg,
                    uint64_t *emitted);
/* [B]LMPOP and [B]ZMPOP: numkeys at argv[nk], the keys, then w0 or w1 (*which 0 or 1), then
 * [COUNT count] (default 1), with Redis 7.0's error texts. false after replying. */
bool cmd_parse_mpop(cmd_ctx *x, size_t nk, const char *w0, const char *w1, size_t *numkeys, int *which,
                    long long *count);
/* Redis's start/stop index ranges (LRANGE, LTRIM, ZRANGE, ZREMRANGEBYRANK): negative counts from
 * the end, then clamped to the size. false when the range is empty, else [*from, *to]. */
bool cmd_index_range(long long start, long long stop, uint64_t size, uint64_t *from, uint64_t *to);
/* Counts a keyspace hit or miss for INFO. */
void cmd_count_lookup(cmd_ctx *x, bool hit);
/* HSCAN / SSCAN / ZSCAN key cursor [MATCH pattern] [COUNT n] on a collection of `type`: visits at
 * most COUNT elements from the cursor, replies [next cursor, items]; emit appends one matching
 * element's items (the element, and its value for HSCAN/ZSCAN) and returns how many it appended. */
typedef size_t cmd_scan_emit(reply_buf *rb, const uint8_t *el, size_t elen, const uint8_t *val, size_t vlen);
void cmd_coll_scan(cmd_ctx *x, int type, cmd_scan_emit *emit);

/* Positions in argv of the keys of a command (Redis's key specs: first, last, step; the numkeys
 * forms of LMPOP, SINTERCARD, ZUNION, EVAL, FCALL and the like; the key of a subcommand, as
 * MEMORY USAGE's). Writes at most max positions; returns how many keys there are (0 for commands
 * without keys or with arguments the command itself rejects). */
size_t cmd_key_positions(const cmd_spec *s, size_t argc, const uint8_t *const *argv, const size_t *argvlen,
                         size_t *pos, size_t max);
/* Whether s's keys follow a numkeys argument (Redis's "movablekeys" flag). */
bool cmd_keys_movable(const cmd_spec *s);
/* Whether s may name no key at all: numkeys 0 is valid (EVAL, FCALL: "no_mandatory_keys"). */
bool cmd_keys_optional(const cmd_spec *s);
/* The subcommands of container s (MEMORY, OBJECT, FUNCTION, SCRIPT), NULL for other commands. */
const cmd_sub *cmd_subs(const cmd_spec *s);
/* The subcommand of container s named (name, len), case-insensitively; NULL when s has no
 * subcommand table or no such subcommand. */
const cmd_sub *cmd_sub_lookup(const cmd_spec *s, const uint8_t *name, size_t len);
/* Whether argc arguments (the container's name included) suit sub's arity. */
bool cmd_sub_arity_ok(const cmd_sub *sub, size_t argc);
/* Runs container x's subcommand argv[1] from subs, after Redis 7's checks: "-ERR unknown
 * subcommand '<sub>'. Try <CMD> HELP." for a name not in subs, "-ERR wrong number of arguments
 * for '<cmd>|<sub>' command" for a wrong count. cmd: the container's name, lower case. */
void cmd_run_sub(cmd_ctx *x, const char *cmd, const cmd_sub *subs);
/* "-ERR wrong number of arguments for '<cmd>|<argv[1] lower-cased>' command". */
void cmd_reply_sub_arity(cmd_ctx *x, const char *cmd);

/* ---- documentation (cmd_docs.c) --------------------------------------------------------------- */

/* What COMMAND DOCS and COMMAND GETKEYSANDFLAGS say about a command beyond the table: Redis
 * 7.0's figures (Strata's own commands: Strata's). */
typedef struct cmd_doc {
    const char *name;         /* as the table's; "<container>|<sub>" for a subcommand */
    const char *since;        /* the version that added it */
    const char *key_flags[2]; /* Redis's key-spec flags, space-separated ("RW access delete"): of
                               * the first key, and of the others (NULL: as the first one) */
    const char *complexity;   /* NULL: none given */
} cmd_doc;

/* A deprecated command: since when, and what replaces it (Redis's words). */
typedef struct cmd_deprecation {
    const char *name, *since, *replaced_by;
} cmd_deprecation;

/* The entry of command (or "<container>|<sub>") name, NULL if there is none. */
const cmd_doc *cmd_doc_lookup(const char *name);
/* The deprecation of command name, NULL if it is not deprecated. */
const cmd_deprecation *cmd_doc_deprecation(const char *name);

/* Blocking commands: true when the command may wait now (not inside EXEC, deadline not passed):
 * then the caller registers and the connection parks after the proc returns (block.h). The
 * first call of a command sets its deadline from timeout_ms (0: none); reruns keep it. Call
 * holding the keys' locks. false: answer as on a timeout. */
bool cmd_block(cmd_ctx *x, long long timeout_ms, size_t n, const uint8_t *const *keys, const size_t *klens);
/* A blocking command that runs again after a wake-up or its deadline (block.h). */
bool cmd_block_rerun(const cmd_ctx *x);
/* The waited-for collection at key for a blocking command: cmd_coll_lookup, except that on a
 * rerun a key of another type is not an error but "nothing yet" (Redis serves only the type it
 * waits for). 1 found, 0 nothing, -1 replied. */
int cmd_coll_lookup_ready(cmd_ctx *x, const uint8_t *key, size_t klen, int type, ks_coll *c);
/* Redis's timeout argument (seconds, a float): false after replying its error. */
bool cmd_arg_timeout(cmd_ctx *x, size_t i, long long *ms);

/* ---- transactions (cmd_multi.c) ----------------------------------------------------------------- */

/* In MULTI, dispatch hands every command but EXEC, DISCARD, MULTI, WATCH, QUIT and RESET here: it is
 * checked (unknown, arity, authentication: an error flags the transaction) and queued (+QUEUED). */
void multi_queue(cmd_ctx *x);
/* Drops the queue and the watched keys (DISCARD, EXEC, connection close). */
void multi_reset(conn *c);
bool multi_queues(const conn *c, const cmd_spec *spec);

/* ---- the table ----------------------------------------------------------------------------- */

const cmd_spec *cmd_lookup(const uint8_t *name, size_t len);
/* All commands, for COMMAND / COMMAND COUNT / DOCS; *n receives the count. */
const cmd_spec *cmd_all(size_t *n);
/* The number of commands, and a command's place in the table (0..cmd_count()-1, in cmd_all's
 * order): the index of per-command statistics (cmdstats.h). */
size_t cmd_count(void);
size_t cmd_index(const cmd_spec *spec);

/* Procs, by file. */
#define CMD_DECLARE(name) void cmd_##name(cmd_ctx *x)
/* cmd_string.c */
CMD_DECLARE(get); CMD_DECLARE(set); CMD_DECLARE(setnx); CMD_DECLARE(setex); CMD_DECLARE(psetex);
CMD_DECLARE(getset); CMD_DECLARE(getdel); CMD_DECLARE(getex); CMD_DECLARE(mget); CMD_DECLARE(mset);
CMD_DECLARE(msetnx); CMD_DECLARE(append); CMD_DECLARE(strlen); CMD_DECLARE(incr); CMD_DECLARE(decr);
CMD_DECLARE(incrby); CMD_DECLARE(decrby); CMD_DECLARE(incrbyfloat); CMD_DECLARE(getrange);
CMD_DECLARE(setrange);
/* cmd_keys.c */
CMD_DECLARE(del); CMD_DECLARE(unlink); CMD_DECLARE(exists); CMD_DECLARE(type); CMD_DECLARE(rename);
CMD_DECLARE(renamenx); CMD_DECLARE(expire); CMD_DECLARE(pexpire); CMD_DECLARE(expireat);
CMD_DECLARE(pexpireat); CMD_DECLARE(ttl); CMD_DECLARE(pttl); CMD_DECLARE(expiretime);
CMD_DECLARE(pexpiretime); CMD_DECLARE(persist); CMD_DECLARE(keys); CMD_DECLARE(scan);
CMD_DECLARE(randomkey);
/* cmd_hash.c */
CMD_DECLARE(hset); CMD_DECLARE(hsetnx); CMD_DECLARE(hget); CMD_DECLARE(hmget); CMD_DECLARE(hmset);
CMD_DECLARE(hdel); CMD_DECLARE(hlen); CMD_DECLARE(hstrlen); CMD_DECLARE(hexists); CMD_DECLARE(hgetall);
CMD_DECLARE(hkeys); CMD_DECLARE(hvals); CMD_DECLARE(hincrby); CMD_DECLARE(hincrbyfloat);
CMD_DECLARE(hrandfield); CMD_DECLARE(hscan);
/* cmd_set.c */
CMD_DECLARE(sadd); CMD_DECLARE(srem); CMD_DECLARE(scard); CMD_DECLARE(sismember); CMD_DECLARE(smismember);
CMD_DECLARE(smembers); CMD_DECLARE(srandmember); CMD_DECLARE(spop); CMD_DECLARE(smove); CMD_DECLARE(sinter);
CMD_DECLARE(sunion); CMD_DECLARE(sdiff); CMD_DECLARE(sinterstore); CMD_DECLARE(sunionstore);
CMD_DECLARE(sdiffstore); CMD_DECLARE(sintercard); CMD_DECLARE(sscan);
/* cmd_list.c */
CMD_DECLARE(lpush); CMD_DECLARE(rpush); CMD_DECLARE(lpushx); CMD_DECLARE(rpushx); CMD_DECLARE(lpop);
CMD_DECLARE(rpop); CMD_DECLARE(llen); CMD_DECLARE(lindex); CMD_DECLARE(lrange); CMD_DECLARE(lset);
CMD_DECLARE(ltrim); CMD_DECLARE(linsert); CMD_DECLARE(lrem); CMD_DECLARE(lpos); CMD_DECLARE(lmove);
CMD_DECLARE(rpoplpush); CMD_DECLARE(lmpop); CMD_DECLARE(blpop); CMD_DECLARE(brpop);
CMD_DECLARE(blmove); CMD_DECLARE(brpoplpush); CMD_DECLARE(blmpop);
/* cmd_zset.c */
CMD_DECLARE(zadd); CMD_DECLARE(zincrby); CMD_DECLARE(zrem); CMD_DECLARE(zcard); CMD_DECLARE(zscore);
CMD_DECLARE(zmscore); CMD_DECLARE(zrange); CMD_DECLARE(zrangestore); CMD_DECLARE(zrevrange);
CMD_DECLARE(zrangebyscore); CMD_DECLARE(zrevrangebyscore); CMD_DECLARE(zrangebylex); CMD_DECLARE(zrevrangebylex);
CMD_DECLARE(zcount); CMD_DECLARE(zlexcount); CMD_DECLARE(zrank); CMD_DECLARE(zrevrank);
CMD_DECLARE(zremrangebyrank); CMD_DECLARE(zremrangebyscore); CMD_DECLARE(zremrangebylex);
CMD_DECLARE(zpopmin); CMD_DECLARE(zpopmax); CMD_DECLARE(bzpopmin); CMD_DECLARE(bzpopmax); CMD_DECLARE(zmpop);
CMD_DECLARE(bzmpop); CMD_DECLARE(zrandmember); CMD_DECLARE(zscan); CMD_DECLARE(zunionstore);
CMD_DECLARE(zinterstore); CMD_DECLARE(zdiffstore); CMD_DECLARE(zunion); CMD_DECLARE(zinter); CMD_DECLARE(zdiff);
CMD_DECLARE(zintercard);
/* cmd_server.c */
CMD_DECLARE(ping); CMD_DECLARE(echo); CMD_DECLARE(quit); CMD_DECLARE(hello); CMD_DECLARE(auth);
CMD_DECLARE(select); CMD_DECLARE(dbsize); CMD_DECLARE(flushdb); CMD_DECLARE(flushall);
CMD_DECLARE(info); CMD_DECLARE(config); CMD_DECLARE(command); CMD_DECLARE(client); CMD_DECLARE(time);
CMD_DECLARE(save); CMD_DECLARE(bgsave); CMD_DECLARE(lastsave); CMD_DECLARE(shutdown);
CMD_DECLARE(slowlog); CMD_DECLARE(compact); CMD_DECLARE(latency); CMD_DECLARE(monitor); CMD_DECLARE(reset);
/* cmd_tenant.c */
CMD_DECLARE(tenant);
/* cmd_debug.c */
CMD_DECLARE(debug);
/* cmd_introspect.c */
CMD_DECLARE(memory); CMD_DECLARE(object); CMD_DECLARE(function); CMD_DECLARE(script); CMD_DECLARE(eval);
CMD_DECLARE(evalsha); CMD_DECLARE(eval_ro); CMD_DECLARE(evalsha_ro); CMD_DECLARE(fcall); CMD_DECLARE(fcall_ro);
extern const cmd_sub cmd_memory_subs[], cmd_object_subs[], cmd_function_subs[], cmd_script_subs[];
/* cmd_multi.c */
CMD_DECLARE(multi); CMD_DECLARE(exec); CMD_DECLARE(discard); CMD_DECLARE(watch); CMD_DECLARE(unwatch);

#endif
