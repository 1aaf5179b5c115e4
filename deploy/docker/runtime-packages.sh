#!/usr/bin/env bash
# Prints the Debian packages that provide the shared libraries the given binaries load, one
# per line: what a slim runtime image must install to run binaries built in a full one.
#
#   deploy/docker/runtime-packages.sh build/bin/fleettune build/bin/fleettune-rpc-server
set -euo pipefail
for bin in "$@"; do
  ldd "$bin" | awk '/=> \//{print $3} /^\t\/.*ld-linux/{print $1}'
done | sort -u | while read -r lib; do
  # usr-merge: a library found as /lib/... is packaged as /usr/lib/... (or the other way).
  real="$(readlink -f "$lib")"
  for candidate in "$real" "/usr$real" "${real#/usr}" "$lib" "/usr$lib" "${lib#/usr}"; do
    if owner="$(dpkg -S "$candidate" 2>/dev/null | head -n1)"; then
      echo "${owner%%:*}"
      continue 2
    fi
  done
  echo "runtime-packages: no package owns $lib" >&2
  exit 1
done | sed 's/:.*//' | sort -u
