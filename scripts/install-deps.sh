#!/usr/bin/env bash
# Installs every Debian 12 package that fleettune's build, tests, demo and benchmarks need.
# Idempotent: packages already present are skipped, and nothing is done when all are there.
# Runs as root, or through sudo when it is available.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache git
  # wire: gRPC + protobuf + Abseil
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  # compiler: LLVM 14 and lld (linked in process); LLVM's CMake package looks for zlib,
  # terminfo, libxml2 and libffi
  llvm-14-dev liblld-14-dev lld-14 zlib1g-dev libtinfo-dev libxml2-dev libffi-dev
  # cost model: XGBoost (its CMake package needs the 'xgboost' package too)
  libxgboost-dev xgboost
  # database
  libsqlite3-dev sqlite3 libssl-dev
  # database: the export-line parser of `db import` (simdjson On-Demand)
  libsimdjson-dev
  # database: the PostgreSQL back end (libpq) and the server its tests start on loopback
  libpq-dev postgresql
  # CLI, logging (spdlog, built on the system fmt), JSON, the tracker's metrics endpoint
  libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libcpp-httplib-dev
  # tests and benchmarks (OpenBLAS and oneDNN are the benchmarks' references; the openssl
  # tool makes the TLS tests' certificates)
  libgtest-dev libgmock-dev libopenblas-dev libdnnl-dev openssl
  # graph compiler: ONNX import (C++), the model writers and their tests (Python), and ONNX's
  # own node tests as test data
  libonnx-dev python3-onnx python3-numpy libonnx-testdata
  # whole models checked and timed against OpenCV DNN 4.6 on the same ONNX file
  python3-opencv
  # kernels' OpenMP runtime
  libgomp1
  # the board runtime's OpenCL device: headers, ICD loader, and PoCL (a CPU OpenCL device)
  # for its tests
  opencl-headers ocl-icd-opencl-dev pocl-opencl-icd
  # the tracker's web page, tested headless in a real browser over WebDriver
  chromium chromium-driver python3-selenium
)

# Cross-building the board runtime for aarch64 and running it under qemu-user (an emulated
# board for the integration tests): Debian's cross compiler, the emulator, and the arm64
# multiarch -dev packages the runtime links (gRPC pulls in protobuf, Abseil, OpenSSL, c-ares,
# RE2, zlib). Multi-Arch: same, so they sit beside the amd64 ones (apt keeps their versions
# in step). FLEETTUNE_NO_CROSS=1 skips them.
CROSS_ARCH=arm64
CROSS_PACKAGES=(
  g++-aarch64-linux-gnu qemu-user
  libgrpc++-dev:arm64 libprotobuf-dev:arm64 libabsl-dev:arm64 libssl-dev:arm64
  libc6:arm64 libgomp1:arm64
)
if [[ "${FLEETTUNE_NO_CROSS:-0}" != 1 ]] && [[ $(dpkg --print-architecture) != "$CROSS_ARCH" ]]; then
  PACKAGES+=("${CROSS_PACKAGES[@]}")
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

needs_arch=0
for p in "${missing[@]}"; do
  [[ "$p" == *":$CROSS_ARCH" ]] && needs_arch=1
done
if ((needs_arch)) && ! dpkg --print-foreign-architectures | grep -qx "$CROSS_ARCH"; then
  echo "install-deps: enabling the $CROSS_ARCH architecture for the board cross build"
  "${SUDO[@]}" dpkg --add-architecture "$CROSS_ARCH"
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
