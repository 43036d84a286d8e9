#!/usr/bin/env bash
# GPU check for a CUDA machine that has no .NET: runs the Category=Cuda tests (every kernel against float64
# references, whole iterations of the CUDA backend against the CPU backend with TF32 off, device buffers without
# leaks) and prints a short table last.
#
#   tools/gpu-check.sh prepare   on a development machine: builds the tests (Release) and packs, under .device/,
#                                the .NET SDK, the test binaries and ONNX Runtime's CUDA provider, each split into
#                                parts of at most 55 MB (the device tool carries 64 MB per call).
#   tools/gpu-check.sh run       on the GPU machine, once every part has been carried there (one call per part, the
#                                machine kept warm: carried files stay): reassembles, puts the CUDA and cuDNN
#                                libraries that PyTorch's wheels ship on the loader path, runs the tests, prints the table.
#
# Not yet run on a GPU: written for the first task that is lent one.
set -euo pipefail
cd "$(dirname "$0")/.."
parts=.device
work=/tmp/neuralstyle-gpu-check

prepare() {
  rm -rf "$parts" && mkdir -p "$parts"
  dotnet build -c Release tests/NeuralStyle.Tests >/dev/null
  local bin=tests/NeuralStyle.Tests/bin/Release/net10.0
  local dotnet_root; dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
  tar -C "$dotnet_root" -czf - . | split -b 55m -d - "$parts/dotnet.tgz.part-"
  tar -C "$bin" --exclude='runtimes/win-*' --exclude='runtimes/osx-*' --exclude='libonnxruntime_providers_cuda.so' -czf - . \
    | split -b 55m -d - "$parts/tests.tgz.part-"
  gzip -c "$bin/runtimes/linux-x64/native/libonnxruntime_providers_cuda.so" | split -b 55m -d - "$parts/ortcuda.gz.part-"
  ls -la "$parts"
  echo "Carry each file of $parts in its own device call (e.g. command 'true'), then call: bash tools/gpu-check.sh run"
}

run() {
  rm -rf "$work" && mkdir -p "$work/dotnet" "$work/tests"
  cat "$parts"/dotnet.tgz.part-* | tar -C "$work/dotnet" -xzf -
  cat "$parts"/tests.tgz.part-* | tar -C "$work/tests" -xzf -
  cat "$parts"/ortcuda.gz.part-* | gunzip > "$work/tests/runtimes/linux-x64/native/libonnxruntime_providers_cuda.so"
  # CUDA 13 runtime, cuBLAS and cuDNN 9 as shipped in PyTorch's nvidia-* wheels, when the system has none.
  local extra; extra="$(python3 - <<'PY' 2>/dev/null || true
import glob, os, site
dirs = set()
for root in site.getsitepackages():
    for lib in glob.glob(os.path.join(root, "nvidia", "*", "lib")):
        dirs.add(lib)
print(":".join(sorted(dirs)))
PY
)"
  export LD_LIBRARY_PATH="${extra}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export DOTNET_ROOT="$work/dotnet" PATH="$work/dotnet:$PATH" DOTNET_CLI_TELEMETRY_OPTOUT=1
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  set +e
  dotnet vstest "$work/tests/NeuralStyle.Tests.dll" --TestCaseFilter:"Category=Cuda" --logger:"console;verbosity=normal" | tee "$work/vstest.log"
  local status=${PIPESTATUS[0]}
  set -e
  echo
  echo "== Category=Cuda tests, by class =="
  grep -oE "^\s+(Passed|Failed|Skipped) NeuralStyle\.Tests\.[A-Za-z]+" "$work/vstest.log" | awk '{print $2, $1}' | sort | uniq -c || true
  grep -E "Total tests|Passed:|Failed:|Skipped:" "$work/vstest.log" | tail -4
  exit "$status"
}

case "${1:-}" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: tools/gpu-check.sh prepare|run" >&2; exit 2 ;;
esac
