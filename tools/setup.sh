#!/usr/bin/env bash
# setup.sh -- installs the Debian packages Strata needs to build and test, and nothing else.
#
# Idempotent: asks dpkg which packages are missing and installs only those (one `apt-get update`
# first, only when something is missing). Runs as root, or through sudo when that exists.
# Usage: tools/setup.sh        Exit status: 0 when every package is installed, non-zero otherwise.
set -euo pipefail

# The one list of packages. Later issues append here (redis-tools, libhiredis-dev, python3-redis).
PACKAGES=(
    build-essential # gcc, make, libc headers
    cmake
    pkg-config
    liburing-dev    # io_uring backend of engine/io
    libzstd-dev     # block codec (HDD tiers)
    liblz4-dev      # block codec (SSD tiers)
    libxxhash-dev   # XXH3 checksums of every on-disk structure
    libcmocka-dev   # unit tests
    libhiredis-dev  # C client for the integration tests
    redis-tools     # redis-cli and redis-benchmark: real clients in tests and benchmarks
    redis-server    # the peer bench/redis_compare.sh measures against
    python3-redis   # redis-py smoke test
    nutcracker      # twemproxy, for tests/integration/test_scaleout.py (docs/SCALE-OUT.md); its
                    # system service stays off without /etc/nutcracker/nutcracker.yml
    clang           # the libFuzzer targets in tests/fuzz (tests/run.sh's fuzz stage)
    libclang-rt-14-dev # libFuzzer's runtime (only a recommendation of clang)
)

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

command -v dpkg-query >/dev/null 2>&1 || die "dpkg not found: this script supports Debian 12 (bookworm) and derivatives"

installed() {
    local status
    status=$(dpkg -s "$1" 2>/dev/null | sed -n 's/^Status: //p') || true
    [ "$status" = "install ok installed" ]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
    say "all ${#PACKAGES[@]} packages already installed"
    exit 0
fi

say "missing: ${missing[*]}"
command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install these packages by hand: ${missing[*]}"

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 ||
        die "not root and sudo is not installed; as root run: apt-get install ${missing[*]}"
    sudo=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
say "apt-get update"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update ||
    die "apt-get update failed"
say "apt-get install ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" ||
    die "apt-get install failed"

still=()
for pkg in "${missing[@]}"; do
    installed "$pkg" || still+=("$pkg")
done
[ "${#still[@]}" -eq 0 ] || die "still missing after install: ${still[*]}"
say "installed ${#missing[@]} package(s); all ${#PACKAGES[@]} present"
