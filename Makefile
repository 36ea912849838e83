# operate-node: a FastCGI pool for bk-sops' operate_node API.
#   make             build the service, the admin command and the unit tests
#                    (needs the packages of tests/install-deps.sh; make deps)
#   make deps        install the missing Debian packages (as root)
#   make test        install missing packages, build, run the whole suite,
#                    then run it again against an ASan/UBSan build (CI)
#   make test-fast   the suite once, without the sanitizer pass
#   make test-asan   only the sanitizer pass
#   make run         a private MariaDB with demo data, the pool and nginx
#   make install     (below), make uninstall
#   SANITIZE=address,undefined make    a sanitized build (in build-san/)
#   CPPFLAGS, CFLAGS, LDFLAGS are honoured; HARDEN= builds without the
#   hardening flags

CC      ?= cc
PKGS     = json-c libmariadb fcgi librabbitmq hiredis
# The project's version: the one place it is written (operate-node
# --version, the log line at start, /status, operate_node_build_info).
VERSION := $(shell cat VERSION)

# CPPFLAGS, CFLAGS and LDFLAGS are the caller's (make CFLAGS=..., or
# dpkg-buildflags); they come after ours, so they win.
CFLAGS  ?= -O2 -g
OPN_CPPFLAGS := -D_GNU_SOURCE -Ilib $(shell pkg-config --cflags $(PKGS)) \
           -DOPN_VERSION='"$(VERSION)"'
OPN_CFLAGS = -std=c11 -Wall -Wextra -Werror -Wshadow \
           -Wstrict-prototypes -Wmissing-prototypes -MMD -MP
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lcrypto

# Hardened by default, as Debian's hardening=+all: stack protector,
# position-independent executables, read-only relocations bound at
# start. HARDEN= (empty) turns it off.
HARDEN ?= yes
ifneq ($(HARDEN),)
OPN_CFLAGS  += -fstack-protector-strong -fPIE
OPN_LDFLAGS += -pie -Wl,-z,relro,-z,now
# _FORTIFY_SOURCE needs optimisation (glibc warns without it, and -Werror
# stops), is left to the caller's flags when they set it, and is left out
# of the sanitizer build: its checked copies run inside glibc, where ASan
# does not see them.
ifeq ($(SANITIZE)$(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),)
ifneq ($(filter -O1 -O2 -O3 -Os -Og -Ofast -O,$(CFLAGS)),)
OPN_CPPFLAGS += -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
endif
endif
endif

ifneq ($(SANITIZE),)
OPN_CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
OPN_LDFLAGS += -fsanitize=$(SANITIZE)
B       := build-san
else
B       := build
endif

ALL_CPPFLAGS = $(OPN_CPPFLAGS) $(CPPFLAGS)
ALL_CFLAGS   = $(OPN_CFLAGS) $(CFLAGS)
ALL_LDFLAGS  = $(OPN_LDFLAGS) $(LDFLAGS)

LIB_OBJ  := $(patsubst %.c,$(B)/%.o,$(wildcard lib/*.c))
APP_OBJ  := $(patsubst %.c,$(B)/%.o,$(filter-out app/admin.c app/main.c,$(wildcard app/*.c)))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
BINS     := $(B)/operate-node $(if $(wildcard app/admin.c),$(B)/operate-node-admin)

all: $(BINS) $(UNIT_BIN)

deps:
	@tests/install-deps.sh

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(B)/tests/unit/%.o: OPN_CPPFLAGS += -Iapp

# The files that print the version are built again when it changes.
$(B)/app/main.o $(B)/app/admin.o $(B)/app/metrics.o: VERSION

$(B)/operate-node: $(B)/app/main.o $(APP_OBJ) $(LIB_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/operate-node-admin: $(B)/app/admin.o $(APP_OBJ) $(LIB_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/%: $(B)/tests/unit/%.o $(APP_OBJ) $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# libFuzzer: the request parsing (route, strict JSON, fields).
FUZZ_SRC  = tests/fuzz/fuzz_request.c app/fields.c app/actions.c \
            lib/strictjson.c lib/num.c lib/buf.c lib/text.c lib/xmalloc.c
FUZZ_SECONDS ?= 600
build/fuzz_request: $(FUZZ_SRC) $(wildcard app/*.h lib/*.h)
	@mkdir -p build
	clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	    -Ilib -Iapp $(shell pkg-config --cflags json-c) -o $@ $(FUZZ_SRC) \
	    $(shell pkg-config --libs json-c)

fuzz: deps build/fuzz_request
	@mkdir -p build/fuzz-corpus
	build/fuzz_request -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
	    -timeout=5 build/fuzz-corpus tests/fuzz/corpus

# The whole suite, then again against the ASan/UBSan build (what CI runs).
test: deps
	tests/run --asan

test-fast: deps
	tests/run

test-asan: deps
	tests/run --asan-only

run: deps all
	/usr/bin/python3 tests/run-demo

clean:
	rm -rf build build-san

.PHONY: all deps test test-fast test-asan run clean fuzz
.SECONDARY:
-include $(shell find $(B) -name '*.d' 2>/dev/null)

# make install [DESTDIR=/tmp/stage] [PREFIX=/usr/local]: the binaries, the
# reference config and snippets, the SQL, the systemd unit (its paths
# rewritten for PREFIX) and the logrotate file. The config in SYSCONFDIR is
# installed only when there is none: an existing one is never overwritten.
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
DATADIR    ?= $(PREFIX)/share/operate-node
DOCDIR     ?= $(PREFIX)/share/doc/operate-node
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= $(PREFIX)/lib/systemd/system
INSTALL    ?= install
MANPAGES   := man/operate-node.8 man/operate-node-admin.8

install: $(BINS)
	$(INSTALL) -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(DATADIR)/sql \
	    $(DESTDIR)$(DATADIR)/nginx $(DESTDIR)$(DATADIR)/apache \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/logrotate.d \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 0644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 LICENSE README.md $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -d $(DESTDIR)$(SYSCONFDIR)/operate-node
	$(INSTALL) -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	$(INSTALL) -m 0644 conf/operate-node.conf $(DESTDIR)$(DATADIR)/
	test -e $(DESTDIR)$(SYSCONFDIR)/operate-node/operate-node.conf || \
	    $(INSTALL) -m 0644 conf/operate-node.conf \
	    $(DESTDIR)$(SYSCONFDIR)/operate-node/operate-node.conf
	$(INSTALL) -m 0644 sql/*.sql $(DESTDIR)$(DATADIR)/sql/
	$(INSTALL) -m 0755 sql/load.sh $(DESTDIR)$(DATADIR)/sql/
	$(INSTALL) -m 0644 conf/nginx/*.conf $(DESTDIR)$(DATADIR)/nginx/
	$(INSTALL) -m 0644 conf/apache/*.conf $(DESTDIR)$(DATADIR)/apache/
	sed -e 's|/usr/local/bin/|$(PREFIX)/bin/|g' \
	    -e 's|/usr/local/share/operate-node|$(DATADIR)|g' \
	    -e 's|/etc/operate-node/|$(SYSCONFDIR)/operate-node/|g' \
	    conf/systemd/operate-node.service \
	    > $(DESTDIR)$(UNITDIR)/operate-node.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/operate-node.service
	$(INSTALL) -m 0644 conf/logrotate/operate-node \
	    $(DESTDIR)$(SYSCONFDIR)/logrotate.d/operate-node

# make uninstall, with the same DESTDIR, PREFIX and SYSCONFDIR: removes
# what make install put there, except the config in SYSCONFDIR (it may
# hold your edits; remove it yourself). Stop and disable the service first.
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/operate-node \
	    $(DESTDIR)$(PREFIX)/bin/operate-node-admin \
	    $(DESTDIR)$(MANDIR)/man8/operate-node.8 \
	    $(DESTDIR)$(MANDIR)/man8/operate-node-admin.8 \
	    $(DESTDIR)$(UNITDIR)/operate-node.service \
	    $(DESTDIR)$(SYSCONFDIR)/logrotate.d/operate-node
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR)
	@! test -e $(DESTDIR)$(SYSCONFDIR)/operate-node/operate-node.conf || \
	    echo "kept $(DESTDIR)$(SYSCONFDIR)/operate-node/operate-node.conf"

.PHONY: install uninstall

# make bench: throughput and latency of the request path against a private
# MariaDB, the pool and nginx (tests/bench/bench.py: workloads, BENCH_*
# settings); the report also goes to results/bench-<timestamp>.json.
BENCH_BIN := $(B)/tests/bench/dbdriver $(B)/tests/bench/hello

bench: deps $(B)/operate-node $(BENCH_BIN)
	OPERATE_NODE_BUILD=$(B) /usr/bin/python3 tests/bench/bench.py
	OPERATE_NODE_BUILD=$(B) /usr/bin/python3 tests/bench/dispatch_bench.py

$(B)/tests/bench/dbdriver.o: OPN_CPPFLAGS += -Iapp	# app/store_sql.h

$(B)/tests/bench/dbdriver: $(B)/tests/bench/dbdriver.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(shell pkg-config --libs libmariadb) -lpthread

$(B)/tests/bench/hello: $(B)/tests/bench/hello.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(shell pkg-config --libs fcgi)

.PHONY: bench
