#!/usr/bin/env bash
# Cross-builds the board runtime `fleettune-rpc-server` for aarch64 Linux into
# ${1:-build-aarch64}/bin/fleettune-rpc-server, with Debian's cross compiler and arm64
# multiarch libraries (scripts/install-deps.sh installs them). Only the runtime and its wire
# library are built (FLEETTUNE_RUNTIME_ONLY): no LLVM, XGBoost or SQLite on the board.
#
#   scripts/build-board-aarch64.sh [BUILD_DIR]      (JOBS=N to change the parallelism)
#
# Run the result on a board (copy it with its shared libraries, see docs/deploy.md) or here
# under qemu-user: deploy/boards/qemu-aarch64.sh --tracker HOST:PORT --key KEY.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${1:-$ROOT/build-aarch64}"
JOBS="${JOBS:-2}"

missing=()
command -v aarch64-linux-gnu-g++ >/dev/null 2>&1 || missing+=("aarch64-linux-gnu-g++ (g++-aarch64-linux-gnu)")
[[ -f /usr/lib/aarch64-linux-gnu/cmake/grpc/gRPCConfig.cmake ]] || missing+=("gRPC for arm64 (libgrpc++-dev:arm64)")
[[ -f /usr/lib/aarch64-linux-gnu/cmake/absl/abslConfig.cmake ]] || missing+=("Abseil for arm64 (libabsl-dev:arm64)")
[[ -f /usr/lib/aarch64-linux-gnu/libprotobuf.so ]] || missing+=("protobuf for arm64 (libprotobuf-dev:arm64)")
if ((${#missing[@]} > 0)); then
  echo "build-board-aarch64: missing: ${missing[*]}" >&2
  echo "build-board-aarch64: run scripts/install-deps.sh (as root) first" >&2
  exit 1
fi

cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DFLEETTUNE_RUNTIME_ONLY=ON \
  -DCMAKE_TOOLCHAIN_FILE="$ROOT/deploy/toolchains/aarch64-linux-gnu.cmake" >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS" --target fleettune-rpc-server
echo "build-board-aarch64: $BUILD_DIR/bin/fleettune-rpc-server"
