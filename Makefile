# operate-node: a FastCGI pool for bk-sops' operate_node API.
#   make             build the service, the admin command and the unit tests
#                    (needs the packages of tests/install-deps.sh; make deps)
#   make deps        install the missing Debian packages (as root)
#   make test        install missing packages, build, run the whole suite,
#                    then run it again against an ASan/UBSan build (CI)
#   make test-fast   the suite once, without the sanitizer pass
#   make test-asan   only the sanitizer pass
#   make run         a private MariaDB with demo data, the pool and nginx
#   SANITIZE=address,undefined make    a sanitized build (in build-san/)

CC      ?= cc
PKGS     = json-c libmariadb fcgi librabbitmq hiredis
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
           -Wstrict-prototypes -Wmissing-prototypes -MMD -MP \
           -Ilib $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lcrypto
ifneq ($(SANITIZE),)
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
B       := build-san
else
B       := build
endif

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
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/tests/unit/%.o: CFLAGS += -Iapp

$(B)/operate-node: $(B)/app/main.o $(APP_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/operate-node-admin: $(B)/app/admin.o $(APP_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/%: $(B)/tests/unit/%.o $(APP_OBJ) $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

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
UNITDIR    ?= $(PREFIX)/lib/systemd/system
INSTALL    ?= install

install: $(BINS)
	$(INSTALL) -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(DATADIR)/sql \
	    $(DESTDIR)$(DATADIR)/nginx $(DESTDIR)$(DATADIR)/apache \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/logrotate.d
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

.PHONY: install

# make bench: throughput and latency of the request path against a private
# MariaDB, the pool and nginx (tests/bench/bench.py: workloads, BENCH_*
# settings); the report also goes to results/bench-<timestamp>.json.
BENCH_BIN := $(B)/tests/bench/dbdriver $(B)/tests/bench/hello

bench: deps $(B)/operate-node $(BENCH_BIN)
	OPERATE_NODE_BUILD=$(B) /usr/bin/python3 tests/bench/bench.py
	OPERATE_NODE_BUILD=$(B) /usr/bin/python3 tests/bench/dispatch_bench.py

$(B)/tests/bench/dbdriver.o: CFLAGS += -Iapp	# app/store_sql.h

$(B)/tests/bench/dbdriver: $(B)/tests/bench/dbdriver.o
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libmariadb) -lpthread

$(B)/tests/bench/hello: $(B)/tests/bench/hello.o
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs fcgi)

.PHONY: bench
