#!/usr/bin/env bash
# scripts/deps.sh - installs what mamori needs to build, run and test, from
# Debian 12's packages. Idempotent; needs root. Skips apt when all are present.
set -eu
pkgs=(
  build-essential pkg-config clang llvm libclang-rt-14-dev
  libyaml-dev libssl-dev libarchive-dev libsqlite3-dev zlib1g-dev libcmocka-dev libjson-c-dev libpcre2-dev libnftables-dev libhyperscan-dev
  e2fsprogs xfsprogs util-linux kmod jq bc nftables iproute2 netcat-openbsd
  gzip zstd xz-utils zip unzip git gnupg openssl sqlite3 tar dpkg-dev psmisc procps curl
  libevtx-utils time python3 libcurl4-openssl-dev
  libargon2-dev chromium fonts-ipafont-gothic
)
# nodejs and npm drive the console's browser tests (tests/e2e); a machine with
# nodesource's nodejs already has npm, and Debian's npm would conflict with it
command -v node >/dev/null || pkgs+=(nodejs)
command -v npm >/dev/null || pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
