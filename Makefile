# operate-node: a FastCGI pool for bk-sops' operate_node API.
#   make             build the service and the admin command
#   make test        install missing packages, build, run the whole suite
#   make test-asan   the same, with the service built with ASan and UBSan
#   make run         a private MariaDB with demo data, the pool and nginx
#   SANITIZE=address,undefined make    a sanitized build (in build-san/)

CC      ?= cc
PKGS     = json-c libmariadb fcgi
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

all: deps $(BINS) $(UNIT_BIN) $(if $(SANITIZE),,build/fuzz_request)

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
            lib/strictjson.c lib/num.c lib/buf.c lib/xmalloc.c
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

test: all
	tests/run

test-asan:
	$(MAKE) SANITIZE=address,undefined all
	OPERATE_NODE_BUILD=build-san tests/run

run: all
	/usr/bin/python3 tests/run-demo

clean:
	rm -rf build build-san

.PHONY: all deps test test-asan run clean fuzz
.SECONDARY:
-include $(shell find $(B) -name '*.d' 2>/dev/null)
