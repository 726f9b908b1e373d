/* debug.c -- st_debug.h over the io layer's fault injection (engine/io/io.h). */
#include "strata/st_debug.h"

#include <string.h>

#include "io/io.h"
#include "strata/st_status.h"

static const struct {
    const char *name;
    enum st_io_fault_op op;
} ops[] = {{"write", ST_FAULT_WRITE}, {"sync", ST_FAULT_SYNC}, {"rename", ST_FAULT_RENAME}, {"read", ST_FAULT_READ}};

int st_debug_fault_arm(const char *op, int nth, int err, bool persistent, const char *path_contains) {
    if (!op || nth < 1 || err < 1) return ST_EINVAL;
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        if (strcmp(op, ops[i].name) != 0) continue;
        st_io_fault_arm_ex(ops[i].op, nth, err, persistent ? ST_FAULT_PERSISTENT : 0, path_contains);
        return 0;
    }
    return ST_EINVAL;
}

void st_debug_fault_clear(void) {
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) st_io_fault_arm_ex(ops[i].op, 0, 0, 0, NULL);
}
