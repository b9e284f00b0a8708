#!/usr/bin/env bash
# scripts/deps.sh - installs what mamori needs to build, run and test, from
# Debian 12's packages. Idempotent; needs root. Skips apt when all are present.
# A required package that cannot be installed stops the run (exit 1); an
# optional one (fonts for the console's Japanese screenshots) only warns, so a
# mirror that is briefly unreachable does not fail a machine that has the rest.
set -eu
required=(
  build-essential pkg-config clang llvm libclang-rt-14-dev
  libyaml-dev libssl-dev libarchive-dev libsqlite3-dev zlib1g-dev libcmocka-dev libjson-c-dev libpcre2-dev libnftables-dev libhyperscan-dev
  e2fsprogs xfsprogs util-linux kmod jq bc nftables iproute2 netcat-openbsd
  gzip zstd xz-utils zip unzip git gnupg openssl sqlite3 tar dpkg-dev psmisc procps curl
  libevtx-utils time python3 libcurl4-openssl-dev
  libargon2-dev chromium
)
optional=(fonts-ipafont-gothic)
# nodejs and npm drive the console's browser tests (tests/e2e); a machine with
# nodesource's nodejs already has npm, and Debian's npm would conflict with it
command -v node >/dev/null || required+=(nodejs)
command -v npm >/dev/null || required+=(npm)

missing_of() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

# apt_install PKG... - three tries, 20 s apart: a mirror that times out once
# (seen in CI) usually answers the next time
apt_install() {
  local try
  export DEBIAN_FRONTEND=noninteractive
  for try in 1 2 3; do
    apt-get update -qq || true
    if apt-get install -y -qq --no-install-recommends "$@" >/dev/null; then
      return 0
    fi
    [ "$try" -lt 3 ] && { echo "deps: apt-get failed (try $try of 3), again in 20 s" >&2; sleep 20; }
  done
  return 1
}

mapfile -t miss_req < <(missing_of "${required[@]}")
mapfile -t miss_opt < <(missing_of "${optional[@]}")
if [ ${#miss_req[@]} -gt 0 ]; then
  echo "deps: installing ${miss_req[*]}"
  apt_install "${miss_req[@]}" || { echo "deps: could not install ${miss_req[*]} (see apt's messages above)" >&2; exit 1; }
fi
if [ ${#miss_opt[@]} -gt 0 ]; then
  echo "deps: installing optional ${miss_opt[*]}"
  apt_install "${miss_opt[@]}" ||
    echo "deps: warning: optional ${miss_opt[*]} not installed; the console's Japanese screenshots will show empty boxes" >&2
fi
exit 0
