#!/usr/bin/env bash
# GPU check for a CUDA machine that has no .NET: runs the Category=Cuda tests (every kernel against float64
# references, whole iterations of the CUDA backend against the CPU backend with TF32 off and on, device buffers
# without leaks), then the benchmarks, and prints a short table last: per-phase milliseconds per iteration at 512
# and 1024 px, the Gram kernel against cuBLAS SYRK/SGEMM, Adam's GB/s against the device's copy bandwidth, and peak
# device memory.
#
#   tools/gpu-check.sh prepare   on a development machine: builds the tests (Release), publishes the command line
#                                self-contained for linux-x64, and packs, under .device/, the .NET SDK (for the test
#                                host), the test binaries, the command line and ONNX Runtime's CUDA provider, each
#                                split into parts of at most 55 MB (the device tool carries 64 MB per call).
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
  local cli=out/gpu-check-cli
  rm -rf "$cli"
  dotnet publish src/NeuralStyle.Cli -c Release -r linux-x64 --self-contained -o "$cli" >/dev/null
  # The ONNX Runtime package copies its Windows libraries into a linux-x64 publish too; they are not needed there.
  tar -C "$cli" --exclude='libonnxruntime_providers_cuda.so' --exclude='onnxruntime*.dll' -czf - . | split -b 55m -d - "$parts/cli.tgz.part-"
  gzip -c "$bin/runtimes/linux-x64/native/libonnxruntime_providers_cuda.so" | split -b 55m -d - "$parts/ortcuda.gz.part-"
  ls -la "$parts"
  echo "Carry each file of $parts in its own device call (e.g. command 'true'), then call: bash tools/gpu-check.sh run"
}

run() {
  rm -rf "$work" && mkdir -p "$work/dotnet" "$work/tests" "$work/cli"
  cat "$parts"/dotnet.tgz.part-* | tar -C "$work/dotnet" -xzf -
  cat "$parts"/tests.tgz.part-* | tar -C "$work/tests" -xzf -
  cat "$parts"/cli.tgz.part-* | tar -C "$work/cli" -xzf -
  cat "$parts"/ortcuda.gz.part-* | gunzip > "$work/tests/runtimes/linux-x64/native/libonnxruntime_providers_cuda.so"
  cp "$work/tests/runtimes/linux-x64/native/libonnxruntime_providers_cuda.so" "$work/cli/"
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
  local ns="$work/cli/neuralstyle"
  set +e
  "$ns" doctor | tee "$work/doctor.txt"
  "$ns" bench kernels --device cuda | tee "$work/kernels.txt"
  for size in 512 1024; do
    "$ns" bench iteration --device cuda --size "$size" --repeat 10 --json | tee "$work/iteration-$size.json"
  done
  "$ns" bench iteration --device cuda --size 512 --repeat 10 --precision tf32 --json | tee "$work/iteration-512-tf32.json"
  set -e
  echo
  echo "== Category=Cuda tests, by class =="
  grep -oE "^\s+(Passed|Failed|Skipped) NeuralStyle\.Tests\.[A-Za-z]+" "$work/vstest.log" | awk '{print $2, $1}' | sort | uniq -c || true
  grep -E "Total tests|Passed:|Failed:|Skipped:" "$work/vstest.log" | tail -4
  echo
  echo "== Per iteration, batch 1, median ms (device events) =="
  python3 - "$work" <<'PY' || echo "(no iteration benchmark ran)"
import json, sys, os
work = sys.argv[1]
print(f"{'run':<12}{'forward':>9}{'loss':>8}{'backward':>10}{'tv':>7}{'adam':>7}{'sync':>7}{'total':>9}{'GFLOP/s':>9}{'device MB':>11}")
for name in ["512", "1024", "512-tf32"]:
    path = os.path.join(work, f"iteration-{name}.json")
    try:
        j = json.load(open(path))
    except Exception:
        print(f"{name:<12} (failed; see above)")
        continue
    ms = lambda k: j[k + "_ms"]["median"]
    print(f"{name:<12}{ms('forward'):9.2f}{ms('loss_kernels'):8.2f}{ms('backward'):10.2f}{ms('tv'):7.2f}{ms('adam'):7.2f}{ms('host_sync'):7.2f}{ms('total'):9.2f}{j['gflops']:9.0f}{j.get('peak_device_memory_mb', float('nan')):11.0f}")
    if name == "1024":
        print(f"  device at 1024 px (with each style layer's product choice): {j['device']}")
PY
  echo
  echo "== Gram against cuBLAS; Adam against the device copy =="
  grep -E "copy 512 MB|^gram|^adam" "$work/kernels.txt" || echo "(no kernel benchmark ran)"
  exit "$status"
}

case "${1:-}" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: tools/gpu-check.sh prepare|run" >&2; exit 2 ;;
esac
