/* cmd_docs.c -- what COMMAND DOCS and COMMAND GETKEYSANDFLAGS say about each command beyond the
 * command table (cmd_table.c): the version that added it, its time complexity, whether it is
 * deprecated and by what, and Redis's key-spec flags (RO/RW/OW/RM, access, update, insert,
 * delete) of its keys.
 *
 * The figures are Redis 7.0's, taken from redis-server 7.0.15's COMMAND DOCS and COMMAND INFO for
 * every command of the table (a subcommand with keys as "memory|usage"); Strata's own commands
 * (TENANT, COMPACT) give Strata's. The complexities are Redis's: where Strata's cost differs (a
 * DEL of a collection is O(1), a RENAME of one O(n)), docs/COMPATIBILITY.md says so. A command
 * added to the table gets a row here too; without one COMMAND DOCS gives no complexity and
 * GETKEYSANDFLAGS derives the flags from the command's own (RO access or RW access update).
 * Rows are in name order; the lookup does not depend on it. */
#include <string.h>

#include "cmd.h"

static const cmd_doc docs[] = {
    /* name, since, {flags of the first key, of the others}, complexity */
    {"append", "2.0.0", {"RW insert", NULL},
     "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present "
     "value is of any size, since the dynamic string library used by Redis will double the free space available "
     "on every reallocation."},
    {"auth", "1.0.0", {NULL, NULL}, "O(N) where N is the number of passwords defined for the user"},
    {"bgsave", "1.0.0", {NULL, NULL}, "O(1)"},
    {"blmove", "6.2.0", {"RW access delete", "RW insert"}, "O(1)"},
    {"blmpop", "7.0.0", {"RW access delete", NULL},
     "O(N+M) where N is the number of provided keys and M is the number of elements returned."},
    {"blpop", "2.0.0", {"RW access delete", NULL}, "O(N) where N is the number of provided keys."},
    {"brpop", "2.0.0", {"RW access delete", NULL}, "O(N) where N is the number of provided keys."},
    {"brpoplpush", "2.2.0", {"RW access delete", "RW insert"}, "O(1)"},
    {"bzmpop", "7.0.0", {"RW access delete", NULL},
     "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted "
     "set, and M being the number of elements popped."},
    {"bzpopmax", "5.0.0", {"RW access delete", NULL},
     "O(log(N)) with N being the number of elements in the sorted set."},
    {"bzpopmin", "5.0.0", {"RW access delete", NULL},
     "O(log(N)) with N being the number of elements in the sorted set."},
    {"client", "2.4.0", {NULL, NULL}, "Depends on subcommand."},
    {"command", "2.8.13", {NULL, NULL}, "O(N) where N is the total number of Redis commands"},
    {"config", "2.0.0", {NULL, NULL}, "Depends on subcommand."},
    {"dbsize", "1.0.0", {NULL, NULL}, "O(1)"},
    {"debug", "1.0.0", {NULL, NULL}, "Depends on subcommand."},
    {"decr", "1.0.0", {"RW access update", NULL}, "O(1)"},
    {"decrby", "1.0.0", {"RW access update", NULL}, "O(1)"},
    {"del", "1.0.0", {"RM delete", NULL},
     "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a "
     "string, the individual complexity for this key is O(M) where M is the number of elements in the list, "
     "set, sorted set or hash. Removing a single key that holds a string value is O(1)."},
    {"discard", "2.0.0", {NULL, NULL}, "O(N), when N is the number of queued commands"},
    {"echo", "1.0.0", {NULL, NULL}, "O(1)"},
    {"eval", "2.6.0", {"RW access update", NULL}, "Depends on the script that is executed."},
    {"eval_ro", "7.0.0", {"RO access", NULL}, "Depends on the script that is executed."},
    {"evalsha", "2.6.0", {"RW access update", NULL}, "Depends on the script that is executed."},
    {"evalsha_ro", "7.0.0", {"RO access", NULL}, "Depends on the script that is executed."},
    {"exec", "1.2.0", {NULL, NULL}, "Depends on commands in the transaction"},
    {"exists", "1.0.0", {"RO", NULL}, "O(N) where N is the number of keys to check."},
    {"expire", "1.0.0", {"RW update", NULL}, "O(1)"},
    {"expireat", "1.2.0", {"RW update", NULL}, "O(1)"},
    {"expiretime", "7.0.0", {"RO access", NULL}, "O(1)"},
    {"fcall", "7.0.0", {"RW access update", NULL}, "Depends on the function that is executed."},
    {"fcall_ro", "7.0.0", {"RO access", NULL}, "Depends on the function that is executed."},
    {"flushall", "1.0.0", {NULL, NULL}, "O(N) where N is the total number of keys in all databases"},
    {"flushdb", "1.0.0", {NULL, NULL}, "O(N) where N is the number of keys in the selected database"},
    {"function", "7.0.0", {NULL, NULL}, "Depends on subcommand."},
    {"get", "1.0.0", {"RO access", NULL}, "O(1)"},
    {"getdel", "6.2.0", {"RW access delete", NULL}, "O(1)"},
    {"getex", "6.2.0", {"RW access update", NULL}, "O(1)"},
    {"getrange", "2.4.0", {"RO access", NULL},
     "O(N) where N is the length of the returned string. The complexity is ultimately determined by the "
     "returned length, but because creating a substring from an existing string is very cheap, it can be "
     "considered O(1) for small strings."},
    {"getset", "1.0.0", {"RW access update", NULL}, "O(1)"},
    {"hdel", "2.0.0", {"RW delete", NULL}, "O(N) where N is the number of fields to be removed."},
    {"hello", "6.0.0", {NULL, NULL}, "O(1)"},
    {"hexists", "2.0.0", {"RO", NULL}, "O(1)"},
    {"hget", "2.0.0", {"RO access", NULL}, "O(1)"},
    {"hgetall", "2.0.0", {"RO access", NULL}, "O(N) where N is the size of the hash."},
    {"hincrby", "2.0.0", {"RW access update", NULL}, "O(1)"},
    {"hincrbyfloat", "2.6.0", {"RW access update", NULL}, "O(1)"},
    {"hkeys", "2.0.0", {"RO access", NULL}, "O(N) where N is the size of the hash."},
    {"hlen", "2.0.0", {"RO", NULL}, "O(1)"},
    {"hmget", "2.0.0", {"RO access", NULL}, "O(N) where N is the number of fields being requested."},
    {"hmset", "2.0.0", {"RW update", NULL}, "O(N) where N is the number of fields being set."},
    {"hrandfield", "6.2.0", {"RO access", NULL}, "O(N) where N is the number of fields returned"},
    {"hscan", "2.8.0", {"RO access", NULL},
     "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to "
     "return back to 0. N is the number of elements inside the collection.."},
    {"hset", "2.0.0", {"RW update", NULL},
     "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with "
     "multiple field/value pairs."},
    {"hsetnx", "2.0.0", {"RW insert", NULL}, "O(1)"},
    {"hstrlen", "3.2.0", {"RO", NULL}, "O(1)"},
    {"hvals", "2.0.0", {"RO access", NULL}, "O(N) where N is the size of the hash."},
    {"incr", "1.0.0", {"RW access update", NULL}, "O(1)"},
    {"incrby", "1.0.0", {"RW access update", NULL}, "O(1)"},
    {"incrbyfloat", "2.6.0", {"RW access update", NULL}, "O(1)"},
    {"info", "1.0.0", {NULL, NULL}, "O(1)"},
    {"keys", "1.0.0", {NULL, NULL},
     "O(N) with N being the number of keys in the database, under the assumption that the key names in the "
     "database and the given pattern have limited length."},
    {"lastsave", "1.0.0", {NULL, NULL}, "O(1)"},
    {"latency", "2.8.13", {NULL, NULL}, "Depends on subcommand."},
    {"lindex", "1.0.0", {"RO access", NULL},
     "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for "
     "the first or the last element of the list O(1)."},
    {"linsert", "2.2.0", {"RW insert", NULL},
     "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that "
     "inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on "
     "the right end (tail) is O(N)."},
    {"llen", "1.0.0", {"RO", NULL}, "O(1)"},
    {"lmove", "6.2.0", {"RW access delete", "RW insert"}, "O(1)"},
    {"lmpop", "7.0.0", {"RW access delete", NULL},
     "O(N+M) where N is the number of provided keys and M is the number of elements returned."},
    {"lpop", "1.0.0", {"RW access delete", NULL}, "O(N) where N is the number of elements returned"},
    {"lpos", "6.0.6", {"RO access", NULL},
     "O(N) where N is the number of elements in the list, for the average case. When searching for elements "
     "near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in "
     "constant time."},
    {"lpush", "1.0.0", {"RW insert", NULL},
     "O(1) for each element added, so O(N) to add N elements when the command is called with multiple "
     "arguments."},
    {"lpushx", "2.2.0", {"RW insert", NULL},
     "O(1) for each element added, so O(N) to add N elements when the command is called with multiple "
     "arguments."},
    {"lrange", "1.0.0", {"RO access", NULL},
     "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) "
     "for large lists; and N is the number of elements in the specified range."},
    {"lrem", "1.0.0", {"RW delete", NULL},
     "O(N+M) where N is the length of the list and M is the number of elements removed."},
    {"lset", "1.0.0", {"RW update", NULL},
     "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1)."},
    {"ltrim", "1.0.0", {"RW delete", NULL},
     "O(N) where N is the number of elements to be removed by the operation."},
    {"memory", "4.0.0", {NULL, NULL}, "Depends on subcommand."},
    {"memory|usage", NULL, {"RO", NULL}, NULL},
    {"mget", "1.0.0", {"RO access", NULL}, "O(N) where N is the number of keys to retrieve."},
    {"monitor", "1.0.0", {NULL, NULL}, NULL}, /* Redis documents no complexity */
    {"mset", "1.0.1", {"OW update", NULL}, "O(N) where N is the number of keys to set."},
    {"msetnx", "1.0.1", {"OW insert", NULL}, "O(N) where N is the number of keys to set."},
    {"multi", "1.2.0", {NULL, NULL}, "O(1)"},
    {"object", "2.2.3", {NULL, NULL}, "Depends on subcommand."},
    {"object|encoding", NULL, {"RO", NULL}, NULL},
    {"object|freq", NULL, {"RO", NULL}, NULL},
    {"object|idletime", NULL, {"RO", NULL}, NULL},
    {"object|refcount", NULL, {"RO", NULL}, NULL},
    {"persist", "2.2.0", {"RW update", NULL}, "O(1)"},
    {"pexpire", "2.6.0", {"RW update", NULL}, "O(1)"},
    {"pexpireat", "2.6.0", {"RW update", NULL}, "O(1)"},
    {"pexpiretime", "7.0.0", {"RO access", NULL}, "O(1)"},
    {"ping", "1.0.0", {NULL, NULL}, "O(1)"},
    {"psetex", "2.6.0", {"OW update", NULL}, "O(1)"},
    {"pttl", "2.6.0", {"RO access", NULL}, "O(1)"},
    {"quit", "1.0.0", {NULL, NULL}, "O(1)"},
    {"randomkey", "1.0.0", {NULL, NULL}, "O(1)"},
    {"rename", "1.0.0", {"RW access delete", "OW update"}, "O(1)"},
    {"renamenx", "1.0.0", {"RW access delete", "OW insert"}, "O(1)"},
    {"reset", "6.2.0", {NULL, NULL}, "O(1)"},
    {"rpop", "1.0.0", {"RW access delete", NULL}, "O(N) where N is the number of elements returned"},
    {"rpoplpush", "1.2.0", {"RW access delete", "RW insert"}, "O(1)"},
    {"rpush", "1.0.0", {"RW insert", NULL},
     "O(1) for each element added, so O(N) to add N elements when the command is called with multiple "
     "arguments."},
    {"rpushx", "2.2.0", {"RW insert", NULL},
     "O(1) for each element added, so O(N) to add N elements when the command is called with multiple "
     "arguments."},
    {"sadd", "1.0.0", {"RW insert", NULL},
     "O(1) for each element added, so O(N) to add N elements when the command is called with multiple "
     "arguments."},
    {"save", "1.0.0", {NULL, NULL}, "O(N) where N is the total number of keys in all databases"},
    {"scan", "2.8.0", {NULL, NULL},
     "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to "
     "return back to 0. N is the number of elements inside the collection."},
    {"scard", "1.0.0", {"RO", NULL}, "O(1)"},
    {"script", "2.6.0", {NULL, NULL}, "Depends on subcommand."},
    {"sdiff", "1.0.0", {"RO access", NULL}, "O(N) where N is the total number of elements in all given sets."},
    {"sdiffstore", "1.0.0", {"OW update", "RO access"},
     "O(N) where N is the total number of elements in all given sets."},
    {"select", "1.0.0", {NULL, NULL}, "O(1)"},
    {"set", "1.0.0", {"RW access update variable_flags", NULL}, "O(1)"},
    {"setex", "2.0.0", {"OW update", NULL}, "O(1)"},
    {"setnx", "1.0.0", {"OW insert", NULL}, "O(1)"},
    {"setrange", "2.2.0", {"RW update", NULL},
     "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so "
     "the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value "
     "argument."},
    {"shutdown", "1.0.0", {NULL, NULL},
     "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)"},
    {"sinter", "1.0.0", {"RO access", NULL},
     "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."},
    {"sintercard", "7.0.0", {"RO access", NULL},
     "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."},
    {"sinterstore", "1.0.0", {"RW update", "RO access"},
     "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."},
    {"sismember", "1.0.0", {"RO", NULL}, "O(1)"},
    {"slowlog", "2.2.12", {NULL, NULL}, "Depends on subcommand."},
    {"smembers", "1.0.0", {"RO access", NULL}, "O(N) where N is the set cardinality."},
    {"smismember", "6.2.0", {"RO access", NULL},
     "O(N) where N is the number of elements being checked for membership"},
    {"smove", "1.0.0", {"RW access delete", "RW insert"}, "O(1)"},
    {"spop", "1.0.0", {"RW access delete", NULL},
     "Without the count argument O(1), otherwise O(N) where N is the value of the passed count."},
    {"srandmember", "1.0.0", {"RO access", NULL},
     "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count."},
    {"srem", "1.0.0", {"RW delete", NULL}, "O(N) where N is the number of members to be removed."},
    {"sscan", "2.8.0", {"RO access", NULL},
     "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to "
     "return back to 0. N is the number of elements inside the collection.."},
    {"strlen", "2.2.0", {"RO", NULL}, "O(1)"},
    {"substr", "1.0.0", {"RO access", NULL},
     "O(N) where N is the length of the returned string. The complexity is ultimately determined by the "
     "returned length, but because creating a substring from an existing string is very cheap, it can be "
     "considered O(1) for small strings."},
    {"sunion", "1.0.0", {"RO access", NULL}, "O(N) where N is the total number of elements in all given sets."},
    {"sunionstore", "1.0.0", {"OW update", "RO access"},
     "O(N) where N is the total number of elements in all given sets."},
    {"time", "2.6.0", {NULL, NULL}, "O(1)"},
    {"ttl", "1.0.0", {"RO access", NULL}, "O(1)"},
    {"type", "1.0.0", {"RO", NULL}, "O(1)"},
    {"unlink", "4.0.0", {"RM delete", NULL},
     "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread "
     "in order to reclaim memory, where N is the number of allocations the deleted objects where composed of."},
    {"unwatch", "2.2.0", {NULL, NULL}, "O(1)"},
    {"watch", "2.2.0", {"RO", NULL}, "O(1) for every key."},
    {"zadd", "1.2.0", {"RW update", NULL},
     "O(log(N)) for each item added, where N is the number of elements in the sorted set."},
    {"zcard", "1.2.0", {"RO", NULL}, "O(1)"},
    {"zcount", "2.0.0", {"RO access", NULL},
     "O(log(N)) with N being the number of elements in the sorted set."},
    {"zdiff", "6.2.0", {"RO access", NULL},
     "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of "
     "the first set, and K is the size of the result set."},
    {"zdiffstore", "6.2.0", {"OW update", "RO access"},
     "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of "
     "the first set, and K is the size of the result set."},
    {"zincrby", "1.2.0", {"RW access update", NULL},
     "O(log(N)) where N is the number of elements in the sorted set."},
    {"zinter", "6.2.0", {"RO access", NULL},
     "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input "
     "sorted sets and M being the number of elements in the resulting sorted set."},
    {"zintercard", "7.0.0", {"RO access", NULL},
     "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets."},
    {"zinterstore", "2.0.0", {"OW update", "RO access"},
     "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input "
     "sorted sets and M being the number of elements in the resulting sorted set."},
    {"zlexcount", "2.8.9", {"RO access", NULL},
     "O(log(N)) with N being the number of elements in the sorted set."},
    {"zmpop", "7.0.0", {"RW access delete", NULL},
     "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted "
     "set, and M being the number of elements popped."},
    {"zmscore", "6.2.0", {"RO access", NULL}, "O(N) where N is the number of members being requested."},
    {"zpopmax", "5.0.0", {"RW access delete", NULL},
     "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements "
     "popped."},
    {"zpopmin", "5.0.0", {"RW access delete", NULL},
     "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements "
     "popped."},
    {"zrandmember", "6.2.0", {"RO access", NULL}, "O(N) where N is the number of elements returned"},
    {"zrange", "1.2.0", {"RO access", NULL},
     "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned."},
    {"zrangebylex", "2.8.9", {"RO access", NULL},
     "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being "
     "returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it "
     "O(log(N))."},
    {"zrangebyscore", "1.0.5", {"RO access", NULL},
     "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being "
     "returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it "
     "O(log(N))."},
    {"zrangestore", "6.2.0", {"OW update", "RO access"},
     "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored "
     "into the destination key."},
    {"zrank", "2.0.0", {"RO access", NULL}, "O(log(N))"},
    {"zrem", "1.2.0", {"RW delete", NULL},
     "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be "
     "removed."},
    {"zremrangebylex", "2.8.9", {"RW delete", NULL},
     "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by "
     "the operation."},
    {"zremrangebyrank", "2.0.0", {"RW delete", NULL},
     "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by "
     "the operation."},
    {"zremrangebyscore", "1.2.0", {"RW delete", NULL},
     "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by "
     "the operation."},
    {"zrevrange", "1.2.0", {"RO access", NULL},
     "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned."},
    {"zrevrangebylex", "2.8.9", {"RO access", NULL},
     "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being "
     "returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it "
     "O(log(N))."},
    {"zrevrangebyscore", "2.2.0", {"RO access", NULL},
     "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being "
     "returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it "
     "O(log(N))."},
    {"zrevrank", "2.0.0", {"RO access", NULL}, "O(log(N))"},
    {"zscan", "2.8.0", {"RO access", NULL},
     "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to "
     "return back to 0. N is the number of elements inside the collection.."},
    {"zscore", "1.2.0", {"RO access", NULL}, "O(1)"},
    {"zunion", "6.2.0", {"RO access", NULL},
     "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of "
     "elements in the resulting sorted set."},
    {"zunionstore", "2.0.0", {"OW update", "RO access"},
     "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of "
     "elements in the resulting sorted set."},
    /* Strata's own */
    {"compact", "0.1.0", {NULL, NULL}, "O(N) where N is the size of the database."},
    {"tenant", "0.1.0", {NULL, NULL}, "Depends on subcommand."},
};

static const cmd_deprecation deprecations[] = {
    {"brpoplpush", "6.2.0", "`BLMOVE` with the `RIGHT` and `LEFT` arguments"},
    {"getset", "6.2.0", "`SET` with the `!GET` argument"},
    {"hmset", "4.0.0", "`HSET` with multiple field-value pairs"},
    {"rpoplpush", "6.2.0", "`LMOVE` with the `RIGHT` and `LEFT` arguments"},
    {"substr", "2.0.0", "`GETRANGE`"},
    {"zrangebylex", "6.2.0", "`ZRANGE` with the `BYLEX` argument"},
    {"zrangebyscore", "6.2.0", "`ZRANGE` with the `BYSCORE` argument"},
    {"zrevrange", "6.2.0", "`ZRANGE` with the `REV` argument"},
    {"zrevrangebylex", "6.2.0", "`ZRANGE` with the `REV` and `BYLEX` arguments"},
    {"zrevrangebyscore", "6.2.0", "`ZRANGE` with the `REV` and `BYSCORE` arguments"},
};

const cmd_doc *cmd_doc_lookup(const char *name) {
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++)
        if (!strcmp(docs[i].name, name)) return &docs[i];
    return NULL;
}

const cmd_deprecation *cmd_doc_deprecation(const char *name) {
    for (size_t i = 0; i < sizeof deprecations / sizeof *deprecations; i++)
        if (!strcmp(deprecations[i].name, name)) return &deprecations[i];
    return NULL;
}
