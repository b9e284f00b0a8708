#!/usr/bin/env bash
# scripts/up.sh - installs what is needed, builds mamori and starts the main
# job in the foreground: the file guard protecting the paths of the embedded
# default configuration (/home and /srv; etc/mamori.yaml documents them),
# printing alerts as JSON lines. Ctrl-C stops it cleanly. Needs root.
# Extra arguments go to `mamori guard` (e.g. --action alert).
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "scripts/up.sh: run as root (fanotify needs CAP_SYS_ADMIN)"; exit 2; }
bash scripts/deps.sh
make -j"$(nproc)"
mkdir -p /srv
echo "mamori: starting the guard on /home and /srv (Ctrl-C to stop)" >&2
exec build/release/mamori guard "$@"
