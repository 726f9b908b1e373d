/* bench_args.h -- command-line pieces shared by the benchmark programs (engine_bench,
 * memory_ceiling, tier_bench): "--name=value" / "--name value" options and comma-separated
 * benchmark lists. Header-only: each program is one .c file. */
#ifndef STRATA_BENCH_ARGS_H
#define STRATA_BENCH_ARGS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits "--name=value" into name (cap bytes) and *val (pointing into arg); any other argument is
 * copied whole into name with *val NULL (the value, if any, is the next argument). */
static inline void bench_split_option(const char *arg, char *name, size_t cap, const char **val) {
    const char *eq = strchr(arg, '=');
    *val = NULL;
    if (arg[0] == '-' && eq && (size_t)(eq - arg) < cap) {
        memcpy(name, arg, (size_t)(eq - arg));
        name[eq - arg] = 0;
        *val = eq + 1;
    } else {
        snprintf(name, cap, "%s", arg);
    }
}

/* Splits a comma-separated list of names into their indexes in names[0..n_names) (malloc'ed into
 * *out; the caller frees). Returns the count, 0 for an empty list, or -1 with *bad the unknown
 * name (malloc'ed; the caller frees) or NULL when out of memory. */
static inline long bench_parse_list(const char *list, const char *const *names, int n_names, int **out, char **bad) {
    size_t cap = strlen(list) / 2 + 1, n = 0;
    int *idx = malloc(cap * sizeof *idx);
    char *copy = strdup(list);
    *out = NULL;
    *bad = NULL;
    if (!idx || !copy) {
        free(idx);
        free(copy);
        return -1;
    }
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int k = 0;
        while (k < n_names && strcmp(tok, names[k])) k++;
        if (k == n_names) {
            *bad = strdup(tok);
            free(idx);
            free(copy);
            return -1;
        }
        idx[n++] = k;
    }
    free(copy);
    *out = idx;
    return (long)n;
}

#endif
