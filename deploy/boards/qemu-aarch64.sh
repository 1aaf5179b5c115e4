#!/usr/bin/env bash
# An emulated aarch64 board: the cross-built board runtime under qemu-user on this machine.
#
#   deploy/boards/qemu-aarch64.sh --tracker HOST:PORT --key KEY [--runtime FILE] [FLAGS...]
#
# Registers with the tracker under KEY as an *emulated* board (DeviceInfo.emulated): it
# loads, runs and checks aarch64 kernels built for e.g.
# `llvm -mtriple=aarch64-linux-gnu -mcpu=cortex-a72`, so correctness results are real, but
# timings under emulation say nothing about any Arm CPU. Use it to test a deployment, the
# cross build and aarch64 code generation without hardware; tune on real boards.
#
#   --runtime FILE   the aarch64 fleettune-rpc-server (default: build-aarch64/bin/ in the
#                    repository, built by scripts/build-board-aarch64.sh;
#                    env FLEETTUNE_AARCH64_RUNTIME)
#   FLAGS            passed on to fleettune-rpc-server (--token-file, --tls-ca, ...)
#
# Environment: QEMU_AARCH64 (the emulator; default qemu-aarch64, then qemu-aarch64-static).
# The aarch64 loader and libraries are Debian's arm64 multiarch packages (libc6:arm64,
# libgrpc++1.51:arm64, libgomp1:arm64 ... in /lib/aarch64-linux-gnu), which qemu finds at
# their real paths. Leave QEMU_LD_PREFIX unset: with the cross toolchain's root
# (/usr/aarch64-linux-gnu) as prefix, a threaded program hangs creating its first thread
# (seen with Debian 12's qemu 7.2 and glibc 2.36).
#
# The runtime measures each task in a fresh worker process that it starts by exec. Without
# binfmt_misc the host kernel cannot exec an aarch64 binary, so the runtime is told to start
# this script instead (`qemu-aarch64.sh --sandbox-worker`), which runs the worker under qemu.
set -euo pipefail

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
ROOT="$(cd "$(dirname "$SELF")/../.." && pwd)"

find_qemu() {
  if [[ -n "${QEMU_AARCH64:-}" ]]; then
    echo "$QEMU_AARCH64"
    return
  fi
  local q
  for q in qemu-aarch64 qemu-aarch64-static; do
    if command -v "$q" >/dev/null 2>&1; then
      command -v "$q"
      return
    fi
  done
  echo "qemu-aarch64.sh: qemu-aarch64 not found (Debian package qemu-user; scripts/install-deps.sh installs it)" >&2
  exit 1
}

# Started by the runtime, once per task: run the worker under qemu too.
if [[ $# -eq 1 && "$1" == "--sandbox-worker" ]]; then
  exec "$(find_qemu)" "${FLEETTUNE_AARCH64_RUNTIME:?set by qemu-aarch64.sh}" --sandbox-worker
fi

runtime="${FLEETTUNE_AARCH64_RUNTIME:-$ROOT/build-aarch64/bin/fleettune-rpc-server}"
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runtime)
      [[ $# -ge 2 ]] || { echo "qemu-aarch64.sh: --runtime needs a value" >&2; exit 2; }
      runtime="$2"
      shift 2
      ;;
    --runtime=*)
      runtime="${1#--runtime=}"
      shift
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      args+=("$1")
      shift
      ;;
  esac
done

if [[ ! -x "$runtime" ]]; then
  echo "qemu-aarch64.sh: no aarch64 runtime at $runtime; build it with scripts/build-board-aarch64.sh (or pass --runtime FILE)" >&2
  exit 2
fi
if ! head -c 20 "$runtime" | od -An -tx1 | tr -d ' \n' | grep -q '^7f454c46020101.*b700$'; then
  echo "qemu-aarch64.sh: $runtime is not an aarch64 ELF executable" >&2
  exit 2
fi
runtime="$(cd "$(dirname "$runtime")" && pwd)/$(basename "$runtime")"
export FLEETTUNE_AARCH64_RUNTIME="$runtime"
qemu="$(find_qemu)"
echo "qemu-aarch64.sh: emulated aarch64 board: $qemu $runtime (timings under emulation are meaningless)" >&2
exec "$qemu" "$runtime" --emulated --sandbox-worker-binary "$SELF" "${args[@]}"
