#!/usr/bin/env bash
# run-server.sh -- the "run it" command: install what is missing, build Release into build/, run.
#
# Runs build/strata-server --config tiering.toml. Until the server exists (a later issue), runs the
# engine benchmark instead (build/strata-engine-bench: fresh temp db, default sizes) and says so.
# Extra arguments go to whichever program runs, e.g. `tools/run-server.sh --num 100000`.
# Works from any directory.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash tools/setup.sh

echo "run-server: building Release in build/"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSTRATA_SANITIZE=OFF
cmake --build build -j"$(nproc 2>/dev/null || echo 2)"

if [ -x build/strata-server ]; then
    echo "run-server: starting build/strata-server --config tiering.toml $*"
    exec build/strata-server --config tiering.toml "$@"
fi

if [ ! -x build/strata-engine-bench ]; then
    echo "run-server: error: neither build/strata-server nor build/strata-engine-bench was built" >&2
    exit 1
fi
echo "run-server: there is no server yet (it arrives with a later issue);"
echo "run-server: running the engine benchmark instead: build/strata-engine-bench $*"
exec build/strata-engine-bench "$@"
