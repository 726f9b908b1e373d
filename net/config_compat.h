/* config_compat.h -- Redis parameters that Strata accepts and remembers without acting on them.
 *
 * Tools and client libraries set and read Redis's encoding, persistence and eviction knobs
 * (hash-max-listpack-entries, save, appendonly, activerehashing, maxmemory-policy ...) and fail
 * when the server refuses them. None of them means anything to an LSM tree that keeps every
 * collection as one engine key per element and every write in a WAL, so Strata validates each
 * value as Redis would (same error texts), stores it, returns it to CONFIG GET, writes it back
 * with CONFIG REWRITE (as [redis] in the TOML file), and otherwise ignores it. The server logs
 * the first CONFIG SET of each. Two of them are used: latency-tracking and
 * latency-tracking-info-percentiles (INFO latencystats).
 * docs/COMPATIBILITY.md lists them all. */
#ifndef STRATA_NET_CONFIG_COMPAT_H
#define STRATA_NET_CONFIG_COMPAT_H

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_COMPAT_MAX 64

/* The values set so far (NULL: the default). Owned by the config that embeds it. */
typedef struct config_compat {
    char *value[CONFIG_COMPAT_MAX];
} config_compat;

/* Number of parameters; each has an index 0..n-1. */
size_t compat_count(void);
/* The index of parameter `name` (Redis's name; '_' matches '-', any case), or -1. */
int compat_find(const char *name);
const char *compat_name(int i);     /* Redis's name */
const char *compat_default(int i);  /* as CONFIG GET shows it */
bool compat_ignored(int i);         /* false for the two latency-tracking parameters */

/* The current value (the default until set). */
const char *compat_get(const config_compat *cc, int i);
/* Validates value as Redis does and stores it. 0, or -1 with err holding Redis's reason
 * ("argument couldn't be parsed into an integer", "argument must be 'yes' or 'no'", ...), or -2
 * out of memory. Normalises as Redis does (yes/no and enum names lower case, memory sizes in
 * bytes). */
int compat_set(config_compat *cc, int i, const char *value, char *err, size_t errlen);
/* Whether the value differs from the default (CONFIG REWRITE writes only those). */
bool compat_changed(const config_compat *cc, int i);
void compat_free(config_compat *cc); /* leaves it empty */

#endif
