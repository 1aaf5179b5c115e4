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
  # compiler: LLVM 14 and lld (linked in process)
  llvm-14-dev liblld-14-dev lld-14 libzstd-dev zlib1g-dev libtinfo-dev libxml2-dev libedit-dev libffi-dev
  # cost model: XGBoost (its CMake package needs the 'xgboost' package too)
  libxgboost-dev xgboost
  # database
  libsqlite3-dev sqlite3 libssl-dev
  # database: the PostgreSQL back end (libpq) and the server its tests start on loopback
  libpq-dev postgresql
  # CLI and logging
  libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libcpp-httplib-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev libopenblas-dev libdnnl-dev openssl
  # kernels' OpenMP runtime
  libgomp1
)

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

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
