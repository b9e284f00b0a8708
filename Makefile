# mamori build. Plain GNU make: Debian ships it, it needs no generator step,
# and the tree is small enough that one non-recursive Makefile stays readable.
#
#   make            release build      -> build/release/mamori
#   make asan       ASan+UBSan build   -> build/asan/mamori
#   make tests      unit-test binaries for both variants
#   make check      build everything and run the whole suite (tests/run.sh)
#   make up         install dependencies, build, start the server and a local agent
#                   with its guard (scripts/up.sh)
#   make fuzz       libFuzzer targets (clang)   -> build/fuzz/

CC      ?= cc
VARIANT ?= release
BUILD   := build/$(VARIANT)

PKGS    := yaml-0.1 openssl libarchive sqlite3 zlib json-c libpcre2-8 libnftables libhs libcurl libargon2
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wvla -Wno-unused-parameter
CFLAGS_COMMON := -std=c17 -D_GNU_SOURCE -Isrc $(WARN) $(PKG_CFLAGS) -pthread -g

ifeq ($(VARIANT),asan)
  OPT := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
  LDOPT := -fsanitize=address,undefined
else
  OPT := -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong
  LDOPT :=
endif

CFLAGS  := $(CFLAGS_COMMON) $(OPT) $(EXTRA_CFLAGS)
LDLIBS  := $(PKG_LIBS) -lm -pthread

# Every .c under src/ except the program entry point goes into libmamori.a,
# which the binary, the unit tests and the fuzz targets all link.
LIB_SRC  := $(filter-out src/cmd/main.c,$(shell find src -name '*.c' | sort))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/src/cmd/main.o
LIB      := $(BUILD)/libmamori.a
BIN      := $(BUILD)/mamori

UNIT_SRC := $(shell find tests/unit -name 'test_*.c' | sort)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all asan tests check up fuzz clean format deps bench-server bench-console
all: $(BIN)

# V=1 shows the full commands.
Q := $(if $(V),,@)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $(VARIANT) $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# The Sigma log-source mapping is embedded with .incbin (see mapping_blob.c).
$(BUILD)/src/core/sigma/mapping_blob.o: etc/sigma/logsources.yaml

# The console's page files (web/) are embedded by a generated table of
# .incbin entries (src/web/gen_assets.sh, read by src/web/web_static.c).
WEB_FILES := $(shell find web -type f ! -name '.*' | LC_ALL=C sort)
WEB_GEN   := $(BUILD)/gen/web_assets.c
LIB_OBJ   += $(BUILD)/gen/web_assets.o
$(WEB_GEN): src/web/gen_assets.sh $(WEB_FILES)
	@mkdir -p $(dir $@)
	$(Q)src/web/gen_assets.sh $@ $(WEB_FILES)
$(BUILD)/gen/web_assets.o: $(WEB_GEN) $(WEB_FILES)
	@$(if $(Q),echo "  CC      $(VARIANT) $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BIN): $(MAIN_OBJ) $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDOPT) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(CFLAGS) -Itests -o $@ $< $(LIB) $(LDOPT) $(LDLIBS) -lcmocka

tests: $(BIN) $(UNIT_BIN)

# The server load generator (bench/server/run.sh builds it with this target).
$(BUILD)/bench/server/loadgen: bench/server/loadgen.c bench/server/alertmix.c \
		bench/server/alertmix.h $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH   $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $(filter %.c,$^) $(LIB) $(LDOPT) $(LDLIBS)

bench-server: $(BIN) $(BUILD)/bench/server/loadgen

# The console's first views on 10,000 hosts and 100,000 alerts (bench/console/README.md).
bench-console: bench-server
	bench/console/run.sh

asan:
	$(MAKE) VARIANT=asan tests

check:
	$(MAKE) VARIANT=release tests
	$(MAKE) VARIANT=asan tests
	tests/run.sh

up:
	bash scripts/up.sh

deps:
	scripts/deps.sh

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
fuzz:
	$(MAKE) VARIANT=fuzz CC=clang OPT="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" \
	  LDOPT="-fsanitize=address,undefined" $(BUILD:release=fuzz)/libmamori.a
	@mkdir -p build/fuzz/bin
	for f in $(FUZZ_SRC); do \
	  clang $(CFLAGS_COMMON) -O1 -fsanitize=fuzzer,address,undefined -o build/fuzz/bin/$$(basename $$f .c) \
	    $$f build/fuzz/libmamori.a $(LDLIBS) || exit 1; done

format:
	clang-format -i $$(find src tests bench -name '*.[ch]')

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d)
