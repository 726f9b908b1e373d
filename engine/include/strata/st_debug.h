/* st_debug.h -- fault injection for a server's test mode (strata-server's DEBUG FAULT).
 *
 * The engine's io layer can fail chosen calls (engine/io/io.h, st_io_fault_arm_ex); this exposes
 * that to users of the public API, so a server under test can make its disk fail on demand
 * without linking the io layer itself. Process-wide: it affects every database of the process. */
#ifndef STRATA_ST_DEBUG_H
#define STRATA_ST_DEBUG_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Arms a fault: the nth upcoming call (1 = next) of op fails with errno `err`; with persistent,
 * that call and every later one, until st_debug_fault_clear. op: "write", "sync", "rename" or
 * "read". path_contains (NULL or "": any file) restricts the fault to files whose path holds it
 * (".log": WALs, ".sst": tables, "MANIFEST"). Returns 0, or ST_EINVAL (unknown op, nth < 1,
 * err < 1). */
int st_debug_fault_arm(const char *op, int nth, int err, bool persistent, const char *path_contains);

/* Disarms every fault. */
void st_debug_fault_clear(void);

#ifdef __cplusplus
}
#endif

#endif
