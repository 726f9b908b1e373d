/* cmd_table.c -- the command table (data, as Redis's commands.def) and the helpers every proc
 * shares. Lookup is a binary search over the table sorted by name at first use, comparing
 * case-insensitively, so no per-command allocation or lower-casing. */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "conn.h"
#include "server.h"
#include "strutil.h"
#include "tenant.h"
#include "block.h"
#include "watch.h"

#define W CMD_WRITE
#define R CMD_READONLY
#define F CMD_FAST
#define NA CMD_NOAUTH
#define AD CMD_ADMIN
#define DO CMD_DENYOOM
#define NS CMD_NOSCRIPT
#define ST CMD_STALE

static cmd_spec table[] = {
    /* name         proc              arity flags      keys      group          summary */
    {"get", cmd_get, 2, R | F, 1, 1, 1, "string", "Returns the string value of a key."},
    {"set", cmd_set, -3, W | DO, 1, 1, 1, "string", "Sets the string value of a key, ignoring its type."},
    {"setnx", cmd_setnx, 3, W | F | DO, 1, 1, 1, "string", "Set the string value of a key only when the key doesn't exist."},
    {"setex", cmd_setex, 4, W | DO, 1, 1, 1, "string", "Sets the string value and expiration time of a key."},
    {"psetex", cmd_psetex, 4, W | DO, 1, 1, 1, "string", "Sets both string value and expiration time in milliseconds of a key."},
    {"getset", cmd_getset, 3, W | F | DO, 1, 1, 1, "string", "Returns the previous string value of a key after setting it to a new value."},
    {"getdel", cmd_getdel, 2, W | F, 1, 1, 1, "string", "Returns the string value of a key after deleting the key."},
    {"getex", cmd_getex, -2, W | F, 1, 1, 1, "string", "Returns the string value of a key after setting its expiration time."},
    {"mget", cmd_mget, -2, R | F, 1, -1, 1, "string", "Atomically returns the string values of one or more keys."},
    {"mset", cmd_mset, -3, W | DO, 1, -1, 2, "string", "Atomically creates or modifies the string values of one or more keys."},
    {"msetnx", cmd_msetnx, -3, W | DO, 1, -1, 2, "string", "Atomically modifies the string values of one or more keys only when all keys don't exist."},
    {"append", cmd_append, 3, W | F | DO, 1, 1, 1, "string", "Appends a string to the value of a key. Creates the key if it doesn't exist."},
    {"strlen", cmd_strlen, 2, R | F, 1, 1, 1, "string", "Returns the length of a string value."},
    {"incr", cmd_incr, 2, W | F | DO, 1, 1, 1, "string", "Increments the integer value of a key by one."},
    {"decr", cmd_decr, 2, W | F | DO, 1, 1, 1, "string", "Decrements the integer value of a key by one."},
    {"incrby", cmd_incrby, 3, W | F | DO, 1, 1, 1, "string", "Increments the integer value of a key by a number."},
    {"decrby", cmd_decrby, 3, W | F | DO, 1, 1, 1, "string", "Decrements a number from the integer value of a key."},
    {"incrbyfloat", cmd_incrbyfloat, 3, W | F | DO, 1, 1, 1, "string", "Increment the floating point value of a key by a number."},
    {"getrange", cmd_getrange, 4, R, 1, 1, 1, "string", "Returns a substring of the string stored at a key."},
    {"substr", cmd_getrange, 4, R, 1, 1, 1, "string", "Returns a substring from a string value."},
    {"setrange", cmd_setrange, 4, W | DO, 1, 1, 1, "string", "Overwrites a part of a string value with another by an offset."},

    {"del", cmd_del, -2, W, 1, -1, 1, "generic", "Deletes one or more keys."},
    {"unlink", cmd_unlink, -2, W | F, 1, -1, 1, "generic", "Asynchronously deletes one or more keys."},
    {"exists", cmd_exists, -2, R | F, 1, -1, 1, "generic", "Determines whether one or more keys exist."},
    {"type", cmd_type, 2, R | F, 1, 1, 1, "generic", "Determines the type of value stored at a key."},
    {"rename", cmd_rename, 3, W, 1, 2, 1, "generic", "Renames a key and overwrites the destination."},
    {"renamenx", cmd_renamenx, 3, W | F, 1, 2, 1, "generic", "Renames a key only when the target key name doesn't exist."},
    {"expire", cmd_expire, -3, W | F, 1, 1, 1, "generic", "Sets the expiration time of a key in seconds."},
    {"pexpire", cmd_pexpire, -3, W | F, 1, 1, 1, "generic", "Sets the expiration time of a key in milliseconds."},
    {"expireat", cmd_expireat, -3, W | F, 1, 1, 1, "generic", "Sets the expiration time of a key to a Unix timestamp."},
    {"pexpireat", cmd_pexpireat, -3, W | F, 1, 1, 1, "generic", "Sets the expiration time of a key to a Unix milliseconds timestamp."},
    {"ttl", cmd_ttl, 2, R | F, 1, 1, 1, "generic", "Returns the expiration time in seconds of a key."},
    {"pttl", cmd_pttl, 2, R | F, 1, 1, 1, "generic", "Returns the expiration time in milliseconds of a key."},
    {"expiretime", cmd_expiretime, 2, R | F, 1, 1, 1, "generic", "Returns the expiration time of a key as a Unix timestamp."},
    {"pexpiretime", cmd_pexpiretime, 2, R | F, 1, 1, 1, "generic", "Returns the expiration time of a key as a Unix milliseconds timestamp."},
    {"persist", cmd_persist, 2, W | F, 1, 1, 1, "generic", "Removes the expiration time of a key."},
    {"keys", cmd_keys, 2, R, 0, 0, 0, "generic", "Returns all key names that match a pattern."},
    {"scan", cmd_scan, -2, R, 0, 0, 0, "generic", "Iterates over the key names in the database."},
    {"randomkey", cmd_randomkey, 1, R, 0, 0, 0, "generic", "Returns a random key name from the database."},

    {"hset", cmd_hset, -4, W | F | DO, 1, 1, 1, "hash", "Creates or modifies the value of a field in a hash."},
    {"hsetnx", cmd_hsetnx, 4, W | F | DO, 1, 1, 1, "hash", "Sets the value of a field in a hash only when the field doesn't exist."},
    {"hget", cmd_hget, 3, R | F, 1, 1, 1, "hash", "Returns the value of a field in a hash."},
    {"hmget", cmd_hmget, -3, R | F, 1, 1, 1, "hash", "Returns the values of all fields in a hash."},
    {"hmset", cmd_hmset, -4, W | F | DO, 1, 1, 1, "hash", "Sets the values of multiple fields."},
    {"hdel", cmd_hdel, -3, W | F, 1, 1, 1, "hash", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain."},
    {"hlen", cmd_hlen, 2, R | F, 1, 1, 1, "hash", "Returns the number of fields in a hash."},
    {"hstrlen", cmd_hstrlen, 3, R | F, 1, 1, 1, "hash", "Returns the length of the value of a field."},
    {"hexists", cmd_hexists, 3, R | F, 1, 1, 1, "hash", "Determines whether a field exists in a hash."},
    {"hgetall", cmd_hgetall, 2, R, 1, 1, 1, "hash", "Returns all fields and values in a hash."},
    {"hkeys", cmd_hkeys, 2, R, 1, 1, 1, "hash", "Returns all fields in a hash."},
    {"hvals", cmd_hvals, 2, R, 1, 1, 1, "hash", "Returns all values in a hash."},
    {"hincrby", cmd_hincrby, 4, W | F | DO, 1, 1, 1, "hash", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist."},
    {"hincrbyfloat", cmd_hincrbyfloat, 4, W | F | DO, 1, 1, 1, "hash", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist."},
    {"hrandfield", cmd_hrandfield, -2, R, 1, 1, 1, "hash", "Returns one or more random fields from a hash."},
    {"hscan", cmd_hscan, -3, R, 1, 1, 1, "hash", "Iterates over fields and values of a hash."},

    {"lpush", cmd_lpush, -3, W | F | DO, 1, 1, 1, "list", "Prepends one or more elements to a list. Creates the key if it doesn't exist."},
    {"rpush", cmd_rpush, -3, W | F | DO, 1, 1, 1, "list", "Appends one or more elements to a list. Creates the key if it doesn't exist."},
    {"lpushx", cmd_lpushx, -3, W | F | DO, 1, 1, 1, "list", "Prepends one or more elements to a list only when the list exists."},
    {"rpushx", cmd_rpushx, -3, W | F | DO, 1, 1, 1, "list", "Appends an element to a list only when the list exists."},
    {"lpop", cmd_lpop, -2, W | F, 1, 1, 1, "list", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped."},
    {"rpop", cmd_rpop, -2, W | F, 1, 1, 1, "list", "Returns and removes the last elements of a list. Deletes the list if the last element was popped."},
    {"llen", cmd_llen, 2, R | F, 1, 1, 1, "list", "Returns the length of a list."},
    {"lindex", cmd_lindex, 3, R, 1, 1, 1, "list", "Returns an element from a list by its index."},
    {"lrange", cmd_lrange, 4, R, 1, 1, 1, "list", "Returns a range of elements from a list."},
    {"lset", cmd_lset, 4, W | DO, 1, 1, 1, "list", "Sets the value of an element in a list by its index."},
    {"ltrim", cmd_ltrim, 4, W, 1, 1, 1, "list", "Removes elements from both ends a list. Deletes the list if all elements were trimmed."},
    {"linsert", cmd_linsert, 5, W | DO, 1, 1, 1, "list", "Inserts an element before or after another element in a list."},
    {"lrem", cmd_lrem, 4, W, 1, 1, 1, "list", "Removes elements from a list. Deletes the list if the last element was removed."},
    {"lpos", cmd_lpos, -3, R, 1, 1, 1, "list", "Returns the index of matching elements in a list."},
    {"lmove", cmd_lmove, 5, W | DO, 1, 2, 1, "list", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved."},
    {"rpoplpush", cmd_rpoplpush, 3, W | DO, 1, 2, 1, "list", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped."},
    {"blpop", cmd_blpop, -3, W, 1, -2, 1, "list", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped."},
    {"brpop", cmd_brpop, -3, W, 1, -2, 1, "list", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped."},
    {"blmove", cmd_blmove, 6, W | DO, 1, 2, 1, "list", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved."},
    {"brpoplpush", cmd_brpoplpush, 4, W | DO, 1, 2, 1, "list", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped."},
    {"blmpop", cmd_blmpop, -5, W, 0, 0, 0, "list", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped."},
    {"lmpop", cmd_lmpop, -4, W, 0, 0, 0, "list", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped."},

    {"sadd", cmd_sadd, -3, W | F | DO, 1, 1, 1, "set", "Adds one or more members to a set. Creates the key if it doesn't exist."},
    {"srem", cmd_srem, -3, W | F, 1, 1, 1, "set", "Removes one or more members from a set. Deletes the set if the last member was removed."},
    {"scard", cmd_scard, 2, R | F, 1, 1, 1, "set", "Returns the number of members in a set."},
    {"sismember", cmd_sismember, 3, R | F, 1, 1, 1, "set", "Determines whether a member belongs to a set."},
    {"smismember", cmd_smismember, -3, R | F, 1, 1, 1, "set", "Determines whether multiple members belong to a set."},
    {"smembers", cmd_smembers, 2, R, 1, 1, 1, "set", "Returns all members of a set."},
    {"srandmember", cmd_srandmember, -2, R, 1, 1, 1, "set", "Get one or multiple random members from a set"},
    {"spop", cmd_spop, -2, W | F, 1, 1, 1, "set", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped."},
    {"smove", cmd_smove, 4, W | F, 1, 2, 1, "set", "Moves a member from one set to another."},
    {"sinter", cmd_sinter, -2, R, 1, -1, 1, "set", "Returns the intersect of multiple sets."},
    {"sunion", cmd_sunion, -2, R, 1, -1, 1, "set", "Returns the union of multiple sets."},
    {"sdiff", cmd_sdiff, -2, R, 1, -1, 1, "set", "Returns the difference of multiple sets."},
    {"sinterstore", cmd_sinterstore, -3, W | DO, 1, -1, 1, "set", "Stores the intersect of multiple sets in a key."},
    {"sunionstore", cmd_sunionstore, -3, W | DO, 1, -1, 1, "set", "Stores the union of multiple sets in a key."},
    {"sdiffstore", cmd_sdiffstore, -3, W | DO, 1, -1, 1, "set", "Stores the difference of multiple sets in a key."},
    {"sintercard", cmd_sintercard, -3, R, 0, 0, 0, "set", "Returns the number of members of the intersect of multiple sets."},
    {"sscan", cmd_sscan, -3, R, 1, 1, 1, "set", "Iterates over members of a set."},

    {"zadd", cmd_zadd, -4, W | F | DO, 1, 1, 1, "sorted_set", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist."},
    {"zincrby", cmd_zincrby, 4, W | F | DO, 1, 1, 1, "sorted_set", "Increments the score of a member in a sorted set."},
    {"zrem", cmd_zrem, -3, W | F, 1, 1, 1, "sorted_set", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed."},
    {"zcard", cmd_zcard, 2, R | F, 1, 1, 1, "sorted_set", "Returns the number of members in a sorted set."},
    {"zscore", cmd_zscore, 3, R | F, 1, 1, 1, "sorted_set", "Returns the score of a member in a sorted set."},
    {"zmscore", cmd_zmscore, -3, R | F, 1, 1, 1, "sorted_set", "Returns the score of one or more members in a sorted set."},
    {"zrange", cmd_zrange, -4, R, 1, 1, 1, "sorted_set", "Returns members in a sorted set within a range of indexes."},
    {"zrangestore", cmd_zrangestore, -5, W | DO, 1, 2, 1, "sorted_set", "Stores a range of members from sorted set in a key."},
    {"zrevrange", cmd_zrevrange, -4, R, 1, 1, 1, "sorted_set", "Returns members in a sorted set within a range of indexes in reverse order."},
    {"zrangebyscore", cmd_zrangebyscore, -4, R, 1, 1, 1, "sorted_set", "Returns members in a sorted set within a range of scores."},
    {"zrevrangebyscore", cmd_zrevrangebyscore, -4, R, 1, 1, 1, "sorted_set", "Returns members in a sorted set within a range of scores in reverse order."},
    {"zrangebylex", cmd_zrangebylex, -4, R, 1, 1, 1, "sorted_set", "Returns members in a sorted set within a lexicographical range."},
    {"zrevrangebylex", cmd_zrevrangebylex, -4, R, 1, 1, 1, "sorted_set", "Returns members in a sorted set within a lexicographical range in reverse order."},
    {"zcount", cmd_zcount, 4, R | F, 1, 1, 1, "sorted_set", "Returns the count of members in a sorted set that have scores within a range."},
    {"zlexcount", cmd_zlexcount, 4, R | F, 1, 1, 1, "sorted_set", "Returns the number of members in a sorted set within a lexicographical range."},
    {"zrank", cmd_zrank, 3, R | F, 1, 1, 1, "sorted_set", "Returns the index of a member in a sorted set ordered by ascending scores."},
    {"zrevrank", cmd_zrevrank, 3, R | F, 1, 1, 1, "sorted_set", "Returns the index of a member in a sorted set ordered by descending scores."},
    {"zremrangebyrank", cmd_zremrangebyrank, 4, W, 1, 1, 1, "sorted_set", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed."},
    {"zremrangebyscore", cmd_zremrangebyscore, 4, W, 1, 1, 1, "sorted_set", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed."},
    {"zremrangebylex", cmd_zremrangebylex, 4, W, 1, 1, 1, "sorted_set", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed."},
    {"zpopmin", cmd_zpopmin, -2, W | F, 1, 1, 1, "sorted_set", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped."},
    {"zpopmax", cmd_zpopmax, -2, W | F, 1, 1, 1, "sorted_set", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped."},
    {"bzpopmin", cmd_bzpopmin, -3, W | F, 1, -2, 1, "sorted_set", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise."},
    {"bzpopmax", cmd_bzpopmax, -3, W | F, 1, -2, 1, "sorted_set", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise."},
    {"zmpop", cmd_zmpop, -4, W, 0, 0, 0, "sorted_set", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them."},
    {"bzmpop", cmd_bzmpop, -5, W, 0, 0, 0, "sorted_set", "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise."},
    {"zrandmember", cmd_zrandmember, -2, R, 1, 1, 1, "sorted_set", "Returns one or more random members from a sorted set."},
    {"zscan", cmd_zscan, -3, R, 1, 1, 1, "sorted_set", "Iterates over members and scores of a sorted set."},
    {"zunionstore", cmd_zunionstore, -4, W | DO, 1, 1, 1, "sorted_set", "Stores the union of multiple sorted sets in a key."},
    {"zinterstore", cmd_zinterstore, -4, W | DO, 1, 1, 1, "sorted_set", "Stores the intersect of multiple sorted sets in a key."},
    {"zdiffstore", cmd_zdiffstore, -4, W | DO, 1, 1, 1, "sorted_set", "Stores the difference of multiple sorted sets in a key."},
    {"zunion", cmd_zunion, -3, R, 0, 0, 0, "sorted_set", "Returns the union of multiple sorted sets."},
    {"zinter", cmd_zinter, -3, R, 0, 0, 0, "sorted_set", "Returns the intersect of multiple sorted sets."},
    {"zdiff", cmd_zdiff, -3, R, 0, 0, 0, "sorted_set", "Returns the difference between multiple sorted sets."},
    {"zintercard", cmd_zintercard, -3, R, 0, 0, 0, "sorted_set", "Returns the number of members of the intersect of multiple sorted sets."},

    {"ping", cmd_ping, -1, F, 0, 0, 0, "connection", "Returns the server's liveliness response."},
    {"echo", cmd_echo, 2, F, 0, 0, 0, "connection", "Returns the given string."},
    {"quit", cmd_quit, -1, NA | F, 0, 0, 0, "connection", "Closes the connection."},
    {"hello", cmd_hello, -1, NA | F, 0, 0, 0, "connection", "Handshakes with the Redis server."},
    {"auth", cmd_auth, -2, NA | F, 0, 0, 0, "connection", "Authenticates the connection."},
    {"select", cmd_select, 2, F, 0, 0, 0, "connection", "Changes the selected database."},
    {"client", cmd_client, -2, 0, 0, 0, 0, "connection", "A container for client connection commands."},
    {"dbsize", cmd_dbsize, 1, R, 0, 0, 0, "server", "Returns the number of keys in the database."},
    {"flushdb", cmd_flushdb, -1, W, 0, 0, 0, "server", "Remove all keys from the current database."},
    {"flushall", cmd_flushall, -1, W | AD, 0, 0, 0, "server", "Removes all keys from all databases."},
    {"info", cmd_info, -1, 0, 0, 0, 0, "server", "Returns information and statistics about the server."},
    {"config", cmd_config, -2, AD, 0, 0, 0, "server", "A container for server configuration commands."},
    {"command", cmd_command, -1, 0, 0, 0, 0, "server", "Returns detailed information about all commands."},
    {"time", cmd_time, 1, F, 0, 0, 0, "server", "Returns the server time."},
    {"save", cmd_save, 1, AD, 0, 0, 0, "server", "Synchronously saves the database(s) to disk."},
    {"bgsave", cmd_bgsave, -1, AD, 0, 0, 0, "server", "Asynchronously saves the database(s) to disk."},
    {"lastsave", cmd_lastsave, 1, F, 0, 0, 0, "server", "Returns the Unix timestamp of the last successful save to disk."},
    {"shutdown", cmd_shutdown, -1, AD, 0, 0, 0, "server", "Synchronously saves the database(s) to disk and shuts down the Redis server."},
    {"multi", cmd_multi, 1, F, 0, 0, 0, "transactions", "Starts a transaction."},
    {"exec", cmd_exec, 1, 0, 0, 0, 0, "transactions", "Executes all commands in a transaction."},
    {"discard", cmd_discard, 1, F, 0, 0, 0, "transactions", "Discards a transaction."},
    {"watch", cmd_watch, -2, F, 1, -1, 1, "transactions", "Monitors changes to keys to determine the execution of a transaction."},
    {"unwatch", cmd_unwatch, 1, F, 0, 0, 0, "transactions", "Forgets about watched keys of a transaction."},
    {"debug", cmd_debug, -2, AD, 0, 0, 0, "server", "A container for debugging commands."},
    {"tenant", cmd_tenant, -2, AD, 0, 0, 0, "server", "Adds, deletes, lists and inspects tenants (Strata)."},
    {"compact", cmd_compact, 1, AD, 0, 0, 0, "server", "Compacts the whole database now (Strata)."},
    {"slowlog", cmd_slowlog, -2, AD, 0, 0, 0, "server", "A container for slow log commands."},
    {"memory", cmd_memory, -2, 0, 0, 0, 0, "server", "A container for memory diagnostics commands."},
    {"object", cmd_object, -2, 0, 0, 0, 0, "generic", "A container for object introspection commands."},

    /* Strata runs no scripts (cmd_introspect.c): these answer as a server with none loaded */
    {"function", cmd_function, -2, 0, 0, 0, 0, "scripting", "A container for function commands."},
    {"script", cmd_script, -2, 0, 0, 0, 0, "scripting", "A container for Lua scripts management commands."},
    {"eval", cmd_eval, -3, NS | ST, 0, 0, 0, "scripting", "Executes a server-side Lua script."},
    {"evalsha", cmd_evalsha, -3, NS | ST, 0, 0, 0, "scripting", "Executes a server-side Lua script by SHA1 digest."},
    {"eval_ro", cmd_eval_ro, -3, R | NS | ST, 0, 0, 0, "scripting", "Executes a read-only server-side Lua script."},
    {"evalsha_ro", cmd_evalsha_ro, -3, R | NS | ST, 0, 0, 0, "scripting", "Executes a read-only server-side Lua script by SHA1 digest."},
    {"fcall", cmd_fcall, -3, NS | ST, 0, 0, 0, "scripting", "Invokes a function."},
    {"fcall_ro", cmd_fcall_ro, -3, R | NS | ST, 0, 0, 0, "scripting", "Invokes a read-only function."},

    {"latency", cmd_latency, -2, AD, 0, 0, 0, "server", "A container for latency diagnostics commands."},
    {"monitor", cmd_monitor, 1, 0, 0, 0, 0, "server", "Listens for all requests received by the server in real-time."},
    {"reset", cmd_reset, 1, NA | F, 0, 0, 0, "connection", "Resets the connection."},
};

static pthread_once_t sorted_once = PTHREAD_ONCE_INIT;

static int by_name(const void *a, const void *b) {
    return strcmp(((const cmd_spec *)a)->name, ((const cmd_spec *)b)->name);
}

static void sort_table(void) { qsort(table, sizeof table / sizeof *table, sizeof *table, by_name); }

/* Case-insensitive compare of (p, n) with a lower-case NUL-terminated name. */
static int name_cmp(const uint8_t *p, size_t n, const char *name) {
    size_t i = 0;
    for (; i < n && name[i]; i++) {
        int a = tolower(p[i]), b = (unsigned char)name[i];
        if (a != b) return a - b;
    }
    if (i < n) return 1;
    return name[i] ? -1 : 0;
}

const cmd_spec *cmd_lookup(const uint8_t *name, size_t len) {
    pthread_once(&sorted_once, sort_table);
    size_t lo = 0, hi = sizeof table / sizeof *table;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(name, len, table[mid].name);
        if (c == 0) return &table[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

size_t cmd_count(void) { return sizeof table / sizeof *table; }

size_t cmd_index(const cmd_spec *spec) {
    pthread_once(&sorted_once, sort_table);
    return (size_t)(spec - table);
}

const cmd_spec *cmd_all(size_t *n) {
    pthread_once(&sorted_once, sort_table);
    *n = sizeof table / sizeof *table;
    return table;
}

/* ---- helpers for procs ------------------------------------------------------------------------- */

bool cmd_arg_is(const cmd_ctx *x, size_t i, const char *lit) {
    return i < x->argc && name_cmp(x->argv[i], x->argvlen[i], lit) == 0;
}

bool cmd_arg_ll(cmd_ctx *x, size_t i, long long *out) {
    if (resp_str_to_ll(x->argv[i], x->argvlen[i], out)) return true;
    reply_shared(x->rb, REPLY_SH_NOT_INTEGER);
    return false;
}

bool cmd_arg_double(cmd_ctx *x, size_t i, double *out) {
    if (resp_str_to_double(x->argv[i], x->argvlen[i], out)) return true;
    reply_shared(x->rb, REPLY_SH_NOT_FLOAT);
    return false;
}

/* The engine's message without the "file.c:123: " it starts with: a client needs the file and
 * offset of the damage, not the engine's source line. */
static const char *client_msg(void) {
    const char *m = ks_errmsg(), *p = m;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_') p++;
    if (p[0] != '.' || p[1] != 'c' || p[2] != ':') return m;
    p += 3;
    if (*p < '0' || *p > '9') return m;
    while (*p >= '0' && *p <= '9') p++;
    return p[0] == ':' && p[1] == ' ' ? p + 2 : m;
}

void cmd_reply_ks_error(cmd_ctx *x, int rc) {
    switch (rc) {
    case KS_ENOMEM: reply_error(x->rb, "OOM out of memory"); break;
    case KS_EFATAL:
        reply_errorf(x->rb, "ERR the storage engine refuses writes after a failed WAL write or sync; restart the server (%s)",
                     client_msg());
        break;
    case KS_ENOSPC: reply_errorf(x->rb, "ERR no space left on device (%s)", client_msg()); break;
    case KS_ECORRUPT: reply_errorf(x->rb, "ERR data corruption detected: %s", client_msg()); break;
    case KS_EINVAL: reply_errorf(x->rb, "ERR %s", client_msg()); break;
    default: reply_errorf(x->rb, "ERR storage error: %s (%s)", ks_strerror(rc), client_msg()); break;
    }
}

/* WATCH and blocked clients: the written keys' watchers become dirty, and clients blocked on them
 * are woken, while the proc still holds the keys' locks (watch.h, block.h). */
void cmd_touch_keys(cmd_ctx *x) {
    if (!x->srv || !x->spec) return;
    size_t small[16];
    size_t n = cmd_key_positions(x->spec, x->argc, x->argv, x->argvlen, small, 16);
    size_t *pos = n <= 16 ? small : malloc(n * sizeof *pos);
    if (!pos) { /* no memory to list them: every key of the database counts as touched */
        watch_touch_ns(x->srv->watches, x->ns, false, NULL, NULL);
        return;
    }
    if (pos != small) cmd_key_positions(x->spec, x->argc, x->argv, x->argvlen, pos, n);
    for (size_t i = 0; i < n; i++) {
        watch_touch(x->srv->watches, x->ns, x->argv[pos[i]], x->argvlen[pos[i]]);
        block_signal(x->srv->blocks, x->ns, x->argv[pos[i]], x->argvlen[pos[i]]);
    }
    if (pos != small) free(pos);
}

bool cmd_write(cmd_ctx *x, ks_batch *b) {
    uint64_t lsn = 0;
    int rc = ks_write(x->k, b, &lsn);
    if (rc) {
        cmd_reply_ks_error(x, rc);
        return false;
    }
    if (lsn > x->lsn) x->lsn = lsn;
    if (x->c && x->c->tent) tenant_note_write(x->c->tent, ks_batch_count(b), ks_batch_bytes(b));
    if (ks_batch_count(b)) {
        if (x->in_exec) x->wrote = true;
        else cmd_touch_keys(x);
    }
    return true;
}

/* Commands whose keys follow a numkeys argument at argv[at] (Redis's movablekeys). The STORE
 * forms (first_key 1) also have their destination at argv[1]; optional: numkeys may be 0 (Redis's
 * no_mandatory_keys), else a count below 1 is an error of the command. */
static const struct numkeys_cmd {
    const char *name;
    uint8_t at;
    bool optional;
} numkeys_cmds[] = {
    {"lmpop", 1, false},       {"sintercard", 1, false},  {"zmpop", 1, false},    {"zunion", 1, false},
    {"zinter", 1, false},      {"zdiff", 1, false},       {"zintercard", 1, false}, {"blmpop", 2, false},
    {"bzmpop", 2, false},      {"zunionstore", 2, false}, {"zinterstore", 2, false}, {"zdiffstore", 2, false},
    {"eval", 2, true},         {"evalsha", 2, true},      {"eval_ro", 2, true},   {"evalsha_ro", 2, true},
    {"fcall", 2, true},        {"fcall_ro", 2, true},
};

static const struct numkeys_cmd *numkeys_of(const cmd_spec *s) {
    for (size_t i = 0; i < sizeof numkeys_cmds / sizeof *numkeys_cmds; i++)
        if (!strcmp(s->name, numkeys_cmds[i].name)) return &numkeys_cmds[i];
    return NULL;
}

bool cmd_keys_movable(const cmd_spec *s) { return numkeys_of(s) != NULL; }

bool cmd_keys_optional(const cmd_spec *s) {
    const struct numkeys_cmd *nk = numkeys_of(s);
    return nk && nk->optional;
}

/* The containers whose subcommands the table knows, by proc. */
static const struct {
    cmd_proc *proc;
    const cmd_sub *subs;
} containers[] = {
    {cmd_memory, cmd_memory_subs},
    {cmd_object, cmd_object_subs},
    {cmd_function, cmd_function_subs},
    {cmd_script, cmd_script_subs},
};

const cmd_sub *cmd_subs(const cmd_spec *s) {
    for (size_t i = 0; i < sizeof containers / sizeof *containers; i++)
        if (s->proc == containers[i].proc) return containers[i].subs;
    return NULL;
}

static const cmd_sub *find_sub(const cmd_sub *subs, const uint8_t *name, size_t len) {
    for (const cmd_sub *sub = subs; sub && sub->name; sub++)
        if (name_cmp(name, len, sub->name) == 0) return sub;
    return NULL;
}

const cmd_sub *cmd_sub_lookup(const cmd_spec *s, const uint8_t *name, size_t len) {
    return find_sub(cmd_subs(s), name, len);
}

bool cmd_sub_arity_ok(const cmd_sub *sub, size_t argc) {
    return sub->arity > 0 ? argc == (size_t)sub->arity : argc >= (size_t)-sub->arity;
}

size_t cmd_key_positions(const cmd_spec *s, size_t argc, const uint8_t *const *argv, const size_t *argvlen,
                         size_t *pos, size_t max) {
    size_t first, last, step = 1;
    const struct numkeys_cmd *nkc = numkeys_of(s);
    if (cmd_subs(s)) { /* a container: its subcommand's one key, if it has one */
        const cmd_sub *sub = argc >= 2 ? cmd_sub_lookup(s, argv[1], argvlen[1]) : NULL;
        if (!sub || sub->key <= 0 || !cmd_sub_arity_ok(sub, argc) || (size_t)sub->key >= argc) return 0;
        if (max) pos[0] = (size_t)sub->key;
        return 1;
    }
    /* the STORE forms' destination, argv[1], is a key too */
    bool dest = nkc && s->first_key == 1;
    if (nkc) { /* numkeys at argv[at], the keys after it */
        size_t at = nkc->at;
        long long nk;
        if (argc < at + 1 || !resp_str_to_ll(argv[at], argvlen[at], &nk) || nk < (nkc->optional ? 0 : 1) ||
            (unsigned long long)nk > argc - at - 1)
            return 0; /* the command rejects its arguments: no key */
        if (nk == 0) return 0;
        first = at + 1;
        last = at + (size_t)nk;
    } else {
        if (s->first_key <= 0) return 0;
        first = (size_t)s->first_key;
        last = s->last_key < 0 ? argc - (size_t)(-s->last_key) : (size_t)s->last_key;
        step = s->step > 0 ? (size_t)s->step : 1;
    }
    size_t n = 0;
    if (dest) { /* ZUNIONSTORE and friends: the destination first */
        if (n < max) pos[n] = 1;
        n++;
    }
    for (size_t i = first; i <= last && i < argc; i += step, n++)
        if (n < max) pos[n] = i;
    return n;
}

void cmd_reply_sub_arity(cmd_ctx *x, const char *cmd) {
    char full[96];
    size_t n = strlen(cmd), sl = x->argvlen[1] < 40 ? x->argvlen[1] : 40;
    if (n > 40) n = 40;
    memcpy(full, cmd, n);
    full[n] = '|';
    for (size_t i = 0; i < sl; i++) full[n + 1 + i] = (char)tolower(x->argv[1][i]);
    full[n + 1 + sl] = 0;
    reply_err_arity(x->rb, full);
}

void cmd_run_sub(cmd_ctx *x, const char *cmd, const cmd_sub *subs) {
    const cmd_sub *sub = find_sub(subs, x->argv[1], x->argvlen[1]);
    if (!sub) {
        reply_err_unknown_subcommand(x->rb, cmd, x->argv[1], x->argvlen[1]);
    } else if (!cmd_sub_arity_ok(sub, x->argc)) {
        char full[96];
        snprintf(full, sizeof full, "%s|%s", cmd, sub->name);
        reply_err_arity(x->rb, full);
    } else {
        sub->proc(x);
    }
}

ks_batch *cmd_batch(cmd_ctx *x) {
    ks_batch *b = x->c->w->batch;
    ks_batch_clear(b);
    return b;
}
