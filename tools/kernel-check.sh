#!/usr/bin/env bash
# Compiles every kernels/*.cu to PTX without a GPU or the CUDA toolkit: clang-14 for sm_75 and clang-16 for sm_90
# (clang 14 predates sm_90). Installs the compilers with apt when missing (--install), then prints one line per
# file and architecture and exits non-zero on any failure.
#   tools/kernel-check.sh [--install] [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--install" ]; then
  shift
  if ! command -v clang-14 >/dev/null || ! command -v clang-16 >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang-14 clang-16) >/dev/null
  fi
fi
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
status=0
for source in kernels/*.cu; do
  name="$(basename "$source" .cu)"
  for target in "clang-14 sm_75 ptx70" "clang-16 sm_90 ptx78"; do
    set -- $target
    if "$1" -x cuda --cuda-device-only -nocudainc -nocudalib --cuda-gpu-arch="$2" -Xclang -target-feature -Xclang "+$3" \
         -Wall -Werror -S -o "$out/$name.$2.ptx" "$source" 2> "$out/$name.$2.log"; then
      echo "ok   $source $2 ($1)"
    else
      echo "FAIL $source $2 ($1)"; cat "$out/$name.$2.log"; status=1
    fi
  done
done
exit $status
