# fleettune: `make demo` and `make test` are all a fresh Debian 12 machine needs.
BUILD_DIR ?= build
JOBS ?= 2
CTEST_JOBS ?= 1

AARCH64_BUILD_DIR ?= build-aarch64

.PHONY: all deps configure build board-aarch64 demo test bench clean format

all: build

# Installs any missing Debian package (quick no-op when everything is there).
deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# The cross-built aarch64 board runtime that tests/integration/aarch64_board_test.cc runs under
# qemu-user. FLEETTUNE_NO_CROSS=1 skips it (and that test).
board-aarch64: deps
	@JOBS=$(JOBS) bash scripts/build-board-aarch64.sh $(AARCH64_BUILD_DIR)

ifeq ($(FLEETTUNE_NO_CROSS),1)
TEST_PREREQUISITES := build
else
TEST_PREREQUISITES := build board-aarch64
endif

test: $(TEST_PREREQUISITES)
	@cd $(BUILD_DIR) && FLEETTUNE_AARCH64_RUNTIME=$(abspath $(AARCH64_BUILD_DIR))/bin/fleettune-rpc-server ctest --output-on-failure -j $(CTEST_JOBS) --timeout 900

demo: build
	@bash scripts/demo.sh $(BUILD_DIR)

bench: build
	@bash scripts/bench.sh $(BUILD_DIR)

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(AARCH64_BUILD_DIR)
