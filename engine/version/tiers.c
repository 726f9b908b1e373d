/* tiers.c -- see tiers.h. */
#include "tiers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "filename.h"
#include "io/io.h"
#include "util/err.h"

void st_tiers_destroy(st_tiers *t) {
    if (!t) return;
    for (int i = 0; i < ST_TIER_IDS; i++) {
        free(t->dir[i]);
        free(t->name[i]);
        t->dir[i] = t->name[i] = NULL;
    }
    t->n = 0;
}

static int add_id(st_tiers *t, const char *name, const char *dir, bool direct, bool create) {
    int id = t->n;
    if (!(t->name[id] = strdup(name)) || !(t->dir[id] = strdup(dir)))
        return st_err(ST_ENOMEM, "tiers: out of memory");
    t->direct[id] = direct;
    t->n++;
    if (id > 0 && create) {
        int rc = st_io_mkdir(dir);
        if (rc) return st_err(ST_EIO, "tier %s: cannot create directory %s: %s", name, dir, strerror(-rc));
    }
    struct stat st;
    if (stat(dir, &st) != 0)
        return st_err(ST_EIO, "tier %s: cannot examine directory %s: %s", name, dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return st_err(ST_EINVAL, "tier %s: %s is not a directory", name, dir);
    t->dev[id] = st.st_dev;
    t->ino[id] = st.st_ino;
    return 0;
}

static int check_tiers(const st_options *o) {
    if (o->n_tiers < 0 || o->n_tiers > ST_MAX_TIERS)
        return st_err(ST_EINVAL, "tiers: %d tiers (0..%d allowed)", o->n_tiers, ST_MAX_TIERS);
    int next = 0; /* the first level not yet held */
    for (int i = 0; i < o->n_tiers; i++) {
        const st_tier_options *to = &o->tiers[i];
        if (!to->name || !*to->name) return st_err(ST_EINVAL, "tiers: tier %d has no name", i + 1);
        if (!to->dir || !*to->dir) return st_err(ST_EINVAL, "tier %s: no directory", to->name);
        for (int j = 0; j < i; j++)
            if (!strcmp(o->tiers[j].name, to->name)) return st_err(ST_EINVAL, "tiers: two tiers named %s", to->name);
        if (to->first_level != next || to->last_level < to->first_level || to->last_level >= ST_MAX_LEVELS)
            return st_err(ST_EINVAL,
                          "tier %s: levels %d..%d, but the tiers must hold levels 0..%d in order, each once "
                          "(this one should start at %d)",
                          to->name, to->first_level, to->last_level, ST_MAX_LEVELS - 1, next);
        if (!(to->low_watermark >= 0 && to->low_watermark < to->high_watermark && to->high_watermark <= 1))
            return st_err(ST_EINVAL, "tier %s: watermarks low %.3f, high %.3f: need 0 <= low < high <= 1", to->name,
                          to->low_watermark, to->high_watermark);
        next = to->last_level + 1;
    }
    if (o->n_tiers > 0 && next != ST_MAX_LEVELS)
        return st_err(ST_EINVAL, "tiers: levels %d..%d are in no tier", next, ST_MAX_LEVELS - 1);
    return 0;
}

int st_tiers_init(st_tiers *t, const char *db_dir, const st_options *o) {
    memset(t, 0, sizeof *t);
    if (o) ST_TRY(check_tiers(o));
    int n_tiers = o ? o->n_tiers : 0;
    bool create = !(o && o->read_only);
    int rc = add_id(t, "db", db_dir, false, create);
    for (int i = 0; !rc && i < n_tiers; i++)
        rc = add_id(t, o->tiers[i].name, o->tiers[i].dir, o->tiers[i].direct_io, create);
    for (int i = 2; !rc && i < t->n; i++)
        for (int j = 1; j < i; j++)
            if (st_tiers_same_dir(t, i, j)) {
                rc = st_err(ST_EINVAL, "tiers %s and %s share the directory %s", t->name[j], t->name[i], t->dir[i]);
                break;
            }
    if (rc) {
        st_tiers_destroy(t);
        return rc;
    }
    for (int l = 0; l < ST_MAX_LEVELS; l++) t->level_tier[l] = o ? st_tiers_level_tier(o, l) : 0;
    return 0;
}

int st_tiers_level_tier(const st_options *o, int level) {
    for (int i = 0; i < o->n_tiers; i++)
        if (level >= o->tiers[i].first_level && level <= o->tiers[i].last_level) return i + 1;
    return 0;
}

char *st_tiers_table_path(const st_tiers *t, int id, uint64_t number, char *buf) {
    return st_fn_table(buf, t->dir[id], number);
}

int st_tiers_read_flags(const st_tiers *t, int id) {
    return ST_OPEN_READ | (id >= 0 && id < t->n && t->direct[id] ? ST_OPEN_DIRECT : 0);
}

bool st_tiers_same_dir(const st_tiers *t, int a, int b) {
    return t->dev[a] == t->dev[b] && t->ino[a] == t->ino[b];
}

int st_tiers_locate(const st_tiers *t, uint64_t number, int hint, int *id) {
    char path[ST_PATH_MAX];
    if (hint >= 0 && hint < t->n && st_io_exists(st_tiers_table_path(t, hint, number, path))) {
        *id = hint;
        return 0;
    }
    for (int i = 0; i < t->n; i++)
        if (i != hint && st_io_exists(st_tiers_table_path(t, i, number, path))) {
            *id = i;
            return 0;
        }
    return ST_ENOTFOUND;
}
