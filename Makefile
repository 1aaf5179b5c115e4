# fleettune: `make demo` and `make test` are all a fresh Debian 12 machine needs.
BUILD_DIR ?= build
JOBS ?= 2
CTEST_JOBS ?= 1

.PHONY: all deps configure build demo test bench clean format

all: build

# Installs any missing Debian package (quick no-op when everything is there).
deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(CTEST_JOBS) --timeout 900

demo: build
	@bash scripts/demo.sh $(BUILD_DIR)

bench: build
	@bash scripts/bench.sh $(BUILD_DIR)

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
