/* config_rewrite.h -- CONFIG REWRITE: the running configuration written back into its TOML file.
 *
 * What changes: every parameter whose running value differs from what the file says now (a
 * CONFIG SET, or a command-line flag that overrode the file, as Redis's rewrite does), and the
 * accepted Redis knobs (config_compat.h) that differ, under [redis]. A key the file already has
 * gets its value replaced in place, on its line: the key, the spacing and a trailing comment stay,
 * the comment in its column where the new value allows. A missing key goes after the last setting
 * of its table; a missing table ([redis], say) goes at the end. Nothing else moves: comments,
 * blank lines, order, [[tier]] and [[tenant]] tables are kept byte for byte.
 * The new file is written next to the old one, fsynced, renamed over it (the real path, so a
 * symlinked config stays a symlink) and its directory fsynced, with the old file's mode: a crash
 * leaves the old file or the new one, never half of each. */
#ifndef STRATA_NET_CONFIG_REWRITE_H
#define STRATA_NET_CONFIG_REWRITE_H

#include <stddef.h>

#include "config.h"

/* 0, or -1 with err holding the reason ("The server is running without a config file", an I/O
 * error naming the file, a value the rewriter cannot place). c must not change meanwhile (the
 * caller holds the config lock). */
int config_rewrite(const config *c, char *err, size_t errlen);

#endif
