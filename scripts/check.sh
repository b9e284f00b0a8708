#!/usr/bin/env bash
# scripts/check.sh - installs what is needed, builds mamori twice (release,
# and ASan+UBSan) and runs every test: unit tests (cmocka), integration tests
# as root on loop-mounted ext4 images and tmpfs the tests create, and a short
# fuzz run. Ends with one line "N passed, N failed". Needs root.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "scripts/check.sh: run as root (the guard tests use fanotify and loop devices)"; exit 2; }
bash scripts/deps.sh
make -j"$(nproc)" VARIANT=release tests
make -j"$(nproc)" VARIANT=asan tests
make -j"$(nproc)" fuzz
exec tests/run.sh
