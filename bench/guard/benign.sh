#!/usr/bin/env bash
# bench/guard/benign.sh - benign file workloads the guard must never flag.
#
# Each workload does real work with ordinary Debian tools inside one work
# directory (on the filesystem under test) and is sized to take roughly 1-5 s
# on a 2-core machine without the guard. Each has an untimed "setup" part
# that creates its inputs (sources, logs, a file to encrypt...) and a timed
# "run" part. Used by tests/integration/test_benign.sh (no alert allowed) and
# bench/guard/run.sh (guard-on / guard-off wall-time ratio).
#
#   bench/guard/benign.sh list                 # workload names, one a line
#   bench/guard/benign.sh setup NAME WORKDIR   # create inputs (untimed)
#   bench/guard/benign.sh run NAME WORKDIR     # the workload itself (timed)
#   bench/guard/benign.sh all WORKDIR [NAME...] # setup+run (all) workloads, print times
#
# WORKDIR must be an empty or setup-created directory; nothing outside it is
# written (HOME, GNUPGHOME and TMPDIR point inside it; read-only sources are
# copied from /usr/include and /usr/share/doc). Exit status 0 = the workload
# completed and its own self-check passed.
set -u

BENIGN_WORKLOADS=(
  tar_gzip tar_zstd tar_xz zip_dir gzip_logs cp_tree backup_tarpipe git_repo
  sqlite_writes compile_c gpg_file openssl_file random_files sed_inplace deb_install
)

# ------------------------------------------------------------- helpers --

# _srctree DST: a source tree of ~55 MB / ~4000 files (headers + docs).
_srctree() {
  mkdir -p "$1"
  local d
  for d in c++ linux x86_64-linux-gnu openssl X11 GL python3.11 tcl8.6 unicode; do
    [ -e "/usr/include/$d" ] && cp -a "/usr/include/$d" "$1/"
  done
  cp -a /usr/include/*.h "$1/"
  mkdir -p "$1/doc"
  cp -a /usr/share/doc/git /usr/share/doc/valgrind "$1/doc/" 2>/dev/null || true
}

# _text SEED LINES: deterministic pseudo-random prose, LINES lines.
_text() {
  awk -v seed="$1" -v n="$2" 'BEGIN {
    srand(seed)
    split("the guard file process write read open close alert freeze kill " \
          "server agent event rule sigma host site network login user admin " \
          "backup restore vault spool uplink report table index value foo bar", w)
    for (i = 0; i < n; i++) {
      line = ""
      k = 6 + int(rand() * 10)
      for (j = 0; j < k; j++) line = line w[1 + int(rand() * 40)] " "
      print line i
    }
  }'
}

# _logs DIR N LINES: N application logs of LINES lines each.
_logs() {
  mkdir -p "$1"
  local i
  for ((i = 0; i < $2; i++)); do
    awk -v seed="$i" -v n="$3" 'BEGIN {
      srand(seed)
      split("GET POST PUT DELETE", m); split("200 200 200 201 204 301 404 500", st)
      split("INFO INFO INFO WARN ERROR DEBUG", lv)
      for (j = 0; j < n; j++)
        printf "2024-05-%02dT%02d:%02d:%02d.%03dZ web-%d app[%d]: %s %s /api/v1/items/%d?user=u%d status=%s dur=%dms req=%08x\n",
          1 + j % 28, j % 24, j % 60, (j * 7) % 60, j % 1000, seed, 1000 + seed,
          lv[1 + int(rand() * 6)], m[1 + int(rand() * 4)], int(rand() * 100000),
          int(rand() * 500), st[1 + int(rand() * 8)], int(rand() * 900), int(rand() * 4294967295)
    }' >"$1/app$i.log"
  done
}

# ----------------------------------------------------------- workloads --
# setup_X W: inputs for X (untimed).   wl_X W: the timed workload.

setup_tar_gzip() { _srctree "$1/src"; }
wl_tar_gzip() {
  tar -czf "$1/src.tar.gz" -C "$1" src
  tar -tzf "$1/src.tar.gz" >/dev/null
}

setup_tar_zstd() { _srctree "$1/src"; }
wl_tar_zstd() {
  tar -I 'zstd -q -12 -T2' -cf "$1/src.tar.zst" -C "$1" src
  zstd -q -t "$1/src.tar.zst"
}

setup_tar_xz() {
  mkdir -p "$1/src"
  cp -a /usr/include/linux /usr/include/x86_64-linux-gnu "$1/src/"
}
wl_tar_xz() {
  tar -I 'xz -6 -T2' -cf "$1/src.tar.xz" -C "$1" src
  xz -t "$1/src.tar.xz"
}

setup_zip_dir() { _srctree "$1/src"; }
wl_zip_dir() {
  (cd "$1" && zip -q -r src.zip src)
  unzip -qt "$1/src.zip" >/dev/null
}

# log rotation: app.log -> app.log.1 -> gzip in place (new .gz, original unlinked)
setup_gzip_logs() { _logs "$1/log" 24 40000; }
wl_gzip_logs() {
  local f
  for f in "$1"/log/*.log; do
    mv "$f" "$f.1"
    : >"$f"
  done
  gzip -6 "$1"/log/*.log.1
  gzip -t "$1"/log/*.gz
}

setup_cp_tree() { _srctree "$1/src"; }
wl_cp_tree() {
  cp -a "$1/src" "$1/copy1"
  cp -a "$1/copy1" "$1/copy2"
  cp -a "$1/copy2" "$1/copy3"
  rm -rf "$1/copy1"
  cp -a "$1/copy3" "$1/copy4"
  rm -rf "$1/copy2"
  diff -rq --no-dereference "$1/src" "$1/copy4" >/dev/null
}

# rsync-style backup: full copy with a tar pipe, change some files, then an
# incremental pass (cp -au) and a verification pass.
setup_backup_tarpipe() { _srctree "$1/src"; }
wl_backup_tarpipe() {
  mkdir -p "$1/backup"
  (cd "$1/src" && tar -cf - .) | (cd "$1/backup" && tar -xpf -)
  find "$1/src/linux" -name '*.h' | sort | sed -n '1,200p' | while read -r f; do
    echo "/* edited */" >>"$f"
  done
  cp -au "$1/src/." "$1/backup/"
  diff -rq --no-dereference "$1/src" "$1/backup" >/dev/null
  # a second generation, rotated like a backup script would
  mkdir -p "$1/backup.1"
  (cd "$1/backup" && tar -cf - .) | (cd "$1/backup.1" && tar -xpf -)
  diff -rq --no-dereference "$1/backup" "$1/backup.1" >/dev/null
}

setup_git_repo() {
  mkdir -p "$1/repo"
  cp -a /usr/include/linux "$1/repo/"
  cp -a /usr/include/openssl "$1/repo/"
}
wl_git_repo() {
  local i g=(git -C "$1/repo" -c user.name=bench -c user.email=bench@example.invalid
    -c init.defaultBranch=main -c gc.auto=0)
  "${g[@]}" init -q
  "${g[@]}" add -A
  "${g[@]}" commit -q -m "import"
  for i in 1 2 3 4 5 6; do
    find "$1/repo/linux" -name '*.h' | sort | sed -n "$((i * 40)),$((i * 40 + 60))p" |
      xargs sed -i "s/#define/#define \/* rev $i *\//"
    _text "$i" 2000 >"$1/repo/notes-$i.txt"
    "${g[@]}" add -A
    "${g[@]}" commit -q -m "edit $i"
  done
  "${g[@]}" gc -q
  "${g[@]}" repack -q -a -d -f
  "${g[@]}" fsck --no-progress >/dev/null
  [ "$("${g[@]}" rev-list --count HEAD)" -eq 7 ]
}

setup_sqlite_writes() { mkdir -p "$1/db"; }
wl_sqlite_writes() {
  local db=$1/db/app.db
  {
    echo "PRAGMA journal_mode=WAL;"
    echo "CREATE TABLE ev(id INTEGER PRIMARY KEY, ts INTEGER, host TEXT, kind TEXT, body TEXT);"
    echo "CREATE INDEX ev_host ON ev(host, ts);"
    awk 'BEGIN {
      srand(7)
      for (t = 0; t < 100; t++) {
        print "BEGIN;"
        for (i = 0; i < 1000; i++)
          printf "INSERT INTO ev(ts,host,kind,body) VALUES(%d,%c%s%d%c,%ckind%d%c,%cpayload %d %x%c);\n",
            t * 1000 + i, 39, "host", int(rand() * 50), 39, 39, i % 7, 39, 39, i, int(rand() * 1e9), 39
        print "COMMIT;"
      }
      for (t = 0; t < 50; t++)
        printf "BEGIN; UPDATE ev SET kind=%ckind-x%c WHERE host=%chost%d%c; DELETE FROM ev WHERE id %% 97 = %d; COMMIT;\n",
          39, 39, 39, t, 39, t
    }'
    echo "VACUUM;"
  } | sqlite3 "$db" >/dev/null
  [ "$(sqlite3 "$db" 'SELECT count(*) > 40000 FROM ev;')" = 1 ]
  sqlite3 "$db" 'PRAGMA integrity_check;' | grep -qx ok
}

setup_compile_c() {
  local d=$1/proj i
  mkdir -p "$d/src"
  printf '#pragma once\n#include <stdint.h>\n#include <stddef.h>\n' >"$d/src/common.h"
  for ((i = 0; i < 100; i++)); do
    echo "uint64_t mod${i}_entry(uint64_t);" >>"$d/src/common.h"
    awk -v m="$i" 'BEGIN {
      printf "#include \"common.h\"\n\n"
      for (f = 0; f < 4; f++) {
        printf "static uint64_t m%d_f%d(uint64_t x) {\n  uint64_t a[16];\n", m, f
        printf "  for (size_t i = 0; i < 16; i++) a[i] = x * %d + i * 2654435761u;\n", f + 3
        printf "  for (int r = 0; r < %d; r++)\n    for (size_t i = 1; i < 16; i++) a[i] ^= (a[i - 1] << 7) | (a[i - 1] >> 57);\n", 3 + f % 5
        printf "  return a[15] + a[%d];\n}\n\n", f % 16
      }
      printf "uint64_t mod%d_entry(uint64_t x) {\n", m
      for (f = 0; f < 4; f++) printf "  x = m%d_f%d(x);\n", m, f
      printf "  return x;\n}\n"
    }' >"$d/src/mod$i.c"
  done
  {
    printf '#include "common.h"\n#include <stdio.h>\nint main(void) {\n  uint64_t x = 1;\n'
    for ((i = 0; i < 100; i++)); do echo "  x = mod${i}_entry(x);"; done
    printf '  printf("%%llu\\n", (unsigned long long)x);\n  return 0;\n}\n'
  } >"$d/src/main.c"
  cat >"$d/Makefile" <<'EOF'
CFLAGS := -O2 -Wall -Wextra
SRC := $(wildcard src/*.c)
OBJ := $(SRC:src/%.c=obj/%.o)
app: $(OBJ)
	$(CC) -o $@ $^
obj/%.o: src/%.c src/common.h
	@mkdir -p obj
	$(CC) $(CFLAGS) -c $< -o $@
clean:
	rm -rf obj app
EOF
}
wl_compile_c() {
  make -s -C "$1/proj" -j2 >/dev/null
  "$1/proj/app" >/dev/null
  make -s -C "$1/proj" clean >/dev/null
  make -s -C "$1/proj" -j2 obj/mod1.o obj/mod2.o >/dev/null
}

# a user archives her documents and encrypts that one file, then removes
# the plaintext
setup_gpg_file() {
  mkdir -p "$1/docs"
  tar -cf "$1/docs/archive.tar" -C /usr/share/doc . 2>/dev/null || true
  [ -s "$1/docs/archive.tar" ]
}
wl_gpg_file() {
  local f=$1/docs/archive.tar
  mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
  trap 'gpgconf --kill all >/dev/null 2>&1' EXIT
  gpg -q --batch --yes --pinentry-mode loopback --passphrase 'correct horse' \
    --symmetric --cipher-algo AES256 --compress-algo none -o "$f.gpg" "$f"
  gpg -q --batch --yes --pinentry-mode loopback --passphrase 'correct horse' \
    -o "$f.check" -d "$f.gpg" 2>/dev/null
  cmp -s "$f" "$f.check"
  rm -f "$f" "$f.check"
}

setup_openssl_file() {
  mkdir -p "$1/docs"
  tar -cf "$1/docs/archive.tar" -C /usr/share/doc . 2>/dev/null || true
  cat "$1/docs/archive.tar" "$1/docs/archive.tar" >"$1/docs/big.tar"
  mv "$1/docs/big.tar" "$1/docs/archive.tar"
}
wl_openssl_file() {
  local f=$1/docs/archive.tar
  openssl enc -aes-256-cbc -pbkdf2 -salt -pass pass:'correct horse' -in "$f" -out "$f.enc"
  openssl enc -d -aes-256-cbc -pbkdf2 -pass pass:'correct horse' -in "$f.enc" -out "$f.check"
  cmp -s "$f" "$f.check"
  rm -f "$f" "$f.check"
}

setup_random_files() { mkdir -p "$1/rand"; }
wl_random_files() {
  local i
  for ((i = 0; i < 300; i++)); do head -c 262144 /dev/urandom >"$1/rand/small$i.bin"; done
  for ((i = 0; i < 4; i++)); do head -c 50331648 /dev/urandom >"$1/rand/big$i.bin"; done
  sha256sum "$1"/rand/*.bin >"$1/rand/SHA256SUMS"
  [ "$(wc -l <"$1/rand/SHA256SUMS")" -eq 304 ]
}

setup_sed_inplace() {
  mkdir -p "$1/txt"
  _text 1 240000 | awk -v d="$1/txt" '{ f = d "/page" int((NR - 1) / 300) ".txt"; print > f }
    NR % 300 == 0 { close(f) }'
}
wl_sed_inplace() {
  find "$1/txt" -name '*.txt' -print0 | xargs -0 -n 50 sed -i 's/guard/GUARD/g; s/foo/bar/g'
  find "$1/txt" -name '*.txt' -print0 | xargs -0 -n 50 sed -i '1i # header'
  find "$1/txt" -name '*.txt' -print0 | xargs -0 -n 50 sed -i -e '/^# header/d' -e 's/ vault / VAULT /'
  find "$1/txt" -name '*.txt' -print0 | xargs -0 -n 50 sed -i 's/$/ ./'
  find "$1/txt" -name '*.txt' -print0 | xargs -0 -n 50 sed -i 's/ alert / ALERT /g'
  find "$1/txt" -name '*.txt' -print0 | xargs -0 -n 50 sed -i 's/^\(.*\) \([0-9]*\) \.$/\2 \1/'
  ! grep -rq ' guard ' "$1/txt"
}

setup_deb_install() {
  local p=$1/pkg
  mkdir -p "$p/DEBIAN" "$p/usr/bin" "$p/usr/share/doc" "$p/usr/lib/mamori-bench" "$1/root"
  cat >"$p/DEBIAN/control" <<'EOF'
Package: mamori-bench-payload
Version: 1.0-1
Architecture: all
Maintainer: bench <bench@example.invalid>
Description: generated payload for the guard benchmark
 Not for installation.
EOF
  for i in $(seq 1 30); do printf '#!/bin/sh\necho tool %s\n' "$i" >"$p/usr/bin/tool$i"; done
  chmod 755 "$p"/usr/bin/*
  cp -a /usr/share/doc/git /usr/share/doc/valgrind "$p/usr/share/doc/" 2>/dev/null || true
  cp -a /usr/include/openssl /usr/include/linux "$p/usr/lib/mamori-bench/"
}
wl_deb_install() {
  dpkg-deb --root-owner-group -Zxz -z3 --build "$1/pkg" "$1/payload.deb" >/dev/null
  dpkg-deb -I "$1/payload.deb" >/dev/null
  dpkg-deb -x "$1/payload.deb" "$1/root"
  [ -x "$1/root/usr/bin/tool30" ]
}

# --------------------------------------------------------------- driver --

benign_env() { # W: keep every tool's state inside the work dir
  export HOME=$1/.home TMPDIR=$1/.tmp GNUPGHOME=$1/.home/.gnupg
  export GIT_CONFIG_NOSYSTEM=1 LC_ALL=C
  mkdir -p "$HOME" "$TMPDIR"
  chmod 700 "$HOME"
}

benign_main() {
  local cmd=${1:-} name=${2:-} w=${3:-}
  case $cmd in
    list) printf '%s\n' "${BENIGN_WORKLOADS[@]}"; return 0 ;;
    all)
      w=$name
      shift 2
      local n t0 t1 t2 rc
      local -a names=("$@")
      [ ${#names[@]} -gt 0 ] || names=("${BENIGN_WORKLOADS[@]}")
      for n in "${names[@]}"; do
        mkdir -p "$w/$n"
        t0=$EPOCHREALTIME
        (benign_env "$w/$n" && set -eo pipefail && "setup_$n" "$w/$n"); rc=$?
        t1=$EPOCHREALTIME
        [ "$rc" -eq 0 ] && { (benign_env "$w/$n" && set -eo pipefail && "wl_$n" "$w/$n"); rc=$?; }
        t2=$EPOCHREALTIME
        printf '%-16s setup %6.2fs  run %6.2fs  rc=%d  size=%s\n' "$n" \
          "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" "$rc" "$(du -sh "$w/$n" | cut -f1)"
      done
      return 0 ;;
    setup | run)
      if [ -z "$name" ] || [ -z "$w" ]; then echo "usage: $0 $cmd NAME WORKDIR" >&2; return 2; fi
      declare -F "wl_$name" >/dev/null || { echo "unknown workload: $name" >&2; return 2; }
      mkdir -p "$w" || return 1
      benign_env "$w"
      set -eo pipefail
      if [ "$cmd" = setup ]; then "setup_$name" "$w"; else "wl_$name" "$w"; fi ;;
    *) echo "usage: $0 list | setup NAME WORKDIR | run NAME WORKDIR | all WORKDIR" >&2; return 2 ;;
  esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  benign_main "$@"
fi
