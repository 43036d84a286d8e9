#!/usr/bin/env bash
# GPU check for a CUDA machine that has no .NET: runs the Category=Cuda tests (every kernel against float64
# references, whole iterations of the CUDA backend against the CPU backend with TF32 off and on, device buffers
# without leaks), then the benchmarks, and prints a short table last: per-phase milliseconds per iteration at 512
# and 1024 px (also with TF32, and with cuDNN's HEURISTIC algorithm choice instead of our EXHAUSTIVE search), ours against
# the same iteration in PyTorch on the same GPU (tools/peers/pytorch_peer.py), the Gram and style-gradient kernels
# against cuBLAS SYRK/SGEMM, Adam's GB/s against the device's copy bandwidth, and peak device memory.
#
#   tools/gpu-check.sh prepare   on a development machine: publishes the test runner (tests/NeuralStyle.TestRunner,
#                                which runs the tests in-process, so no .NET SDK is needed there) and the command
#                                line self-contained for linux-x64 into one folder, and packs it under .device/ as one
#                                xz-compressed archive split into parts of 57 MiB (about 230 MB in all, most of it
#                                ONNX Runtime's CUDA provider): each part and the ~6 MB working tree fit the 64 MiB
#                                the device tool carries per call. The build records the checksums of the sources
#                                it was made from; 'run' refuses it when the working tree's differ.
#   tools/gpu-check.sh run       on the GPU machine, once every part has been carried there (one call per part, the
#                                machine kept warm: carried files stay): reassembles under out/gpu-check/ (inside
#                                the repository, where the tests find their files), puts the CUDA and cuDNN
#                                libraries that PyTorch's wheels ship on the loader path, runs the tests, prints the
#                                table, and leaves every log and result in $OUT/gpu-check-logs.tgz when $OUT is set.
#                                Where a test fails, the tests again: under cuDNN's HEURISTIC choice, or, where a test
#                                left CUDA unusable for the rest of its process, the others without it, and that test
#                                alone (under compute-sanitizer where there is one).
#
# With the device tool: after 'prepare' here, four calls back to back (a machine idle for 30 s is handed back, and
# the parts carried so far go with it): carry .device/gpu-check.txz.part-00 with the command 'true', then part-01
# and part-02 the same way, then part-03 with the command 'bash tools/gpu-check.sh run' and a timeout of 480 s:
# the run keeps to GPU_CHECK_BUDGET_S (420 s by default), cutting the benchmarks last in its order if it must.
#
# Run on an H200 (CUDA 13.0 driver); its figures are in the README's "CUDA status".
set -euo pipefail
cd "$(dirname "$0")/.."
parts=.device
bin=out/gpu-check/bin

# xz where the machine has it, else Python's lzma (the GPU machine has Python).
unxz_stream() {
  if command -v xz >/dev/null; then xz -dc; else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.stdin.buffer), sys.stdout.buffer)'; fi
}

save_logs() {
  [ -n "${OUT:-}" ] && [ -d "$OUT" ] || return 0
  (cd "$1" && tar -czf "$OUT/gpu-check-logs.tgz" --ignore-failed-read ./*.log ./*.txt ./*.json 2>/dev/null) || true
  echo "logs: $OUT/gpu-check-logs.tgz"
}

prepare() {
  rm -rf "$parts" "$bin" && mkdir -p "$parts"
  # The runner first: the command line's own publish then replaces the launcher files the runner brought along.
  echo "Publishing the test runner and the command line for linux-x64 (about a minute each)…"
  dotnet publish tests/NeuralStyle.TestRunner -c Release -r linux-x64 --self-contained -o "$bin" >/dev/null
  dotnet publish src/NeuralStyle.Cli -c Release -r linux-x64 --self-contained -o "$bin" >/dev/null
  # What the build was made from, so that 'run' can refuse a build older than the sources it is carried with.
  git ls-files -z src tests kernels include | xargs -0 sha256sum > "$bin/sources.sha256"
  # TensorRT is never used. (A linux-x64 build carries no Windows DLLs: see Directory.Build.targets.)
  echo "Packing $(du -sm "$bin" | cut -f1) MB into xz parts of 57 MiB…"
  tar -C "$bin" --exclude='libonnxruntime_providers_tensorrt.so' -cf - . \
    | xz -T0 -6 | split -b 57m -d - "$parts/gpu-check.txz.part-"
  ls -la "$parts"
  echo "Carry each file of $parts in its own device call while the machine stays warm (command 'true'); carry the"
  echo "last one in the call that runs: bash tools/gpu-check.sh run"
}

# Runs a command for at most LIMIT seconds, and no longer than the time budget has left (25 s of it are kept for
# the table and the logs); skips it, exit 124, when under 20 s are left. A command still running 10 s after its
# SIGTERM is killed: the benchmarks stop "after the current iteration", and one kernel under the emulated driver
# held the run for minutes past its limit.
step() {
  local limit=$1 left=$(( deadline - $(date +%s) - 25 ))
  shift
  if (( left < 20 )); then
    echo "skipped, the time budget is spent: $*" >&2
    return 124
  fi
  timeout -k 10 "$(( limit < left ? limit : left ))" "$@"
}

run() {
  # The whole run's budget: the device tool's limit for the call must be larger, or the table and logs are lost.
  deadline=$(( $(date +%s) + ${GPU_CHECK_BUDGET_S:-420} ))
  local work=out/gpu-check
  rm -rf "$work" && mkdir -p "$bin" # an earlier run's logs would be read as this one's
  # Every log and result also goes back whole through the device tool's $OUT (its reply keeps only the output's tail).
  trap 'save_logs '"$work" EXIT
  cat "$parts"/gpu-check.txz.part-* | unxz_stream | tar -C "$bin" -xf -
  if ! sha256sum --check --quiet "$bin/sources.sha256" > "$work/stale-sources.txt" 2>&1; then
    echo "The carried build was made from other sources than these (run 'tools/gpu-check.sh prepare' again):" >&2
    head -20 "$work/stale-sources.txt" >&2
    exit 3
  fi
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
  # The toolkit's own libraries after the wheels' (nvcc's CUDA 13 has NVRTC and cuBLAS, not cuDNN).
  [ -d /usr/local/cuda/lib64 ] && extra="${extra:+$extra:}/usr/local/cuda/lib64"
  export LD_LIBRARY_PATH="${extra}${extra:+${LD_LIBRARY_PATH:+:}}${LD_LIBRARY_PATH:-}" # no empty entry: it would mean the working folder
  echo "loader path: $LD_LIBRARY_PATH"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  local ns="$bin/neuralstyle"
  set +e
  # In order of what matters most, so that a spent time budget cuts the least: what was found, the tests, then the
  # benchmarks. Each step has its own limit and gets no more than the budget has left.
  step 60 "$ns" doctor | tee "$work/doctor.txt"
  step 300 "$bin/neuralstyle-tests" --filter Category=Cuda | tee "$work/tests.log"
  local status=${PIPESTATUS[0]}
  # On a GPU machine every CUDA test must run: all of them skipped means CUDA did not work here.
  if (( status == 124 || status == 137 )); then # stopped at its limit, or killed 10 s after it
    echo "the Category=Cuda tests ran past their time limit: the results above are partial" >&2
  elif ! grep -qE "^Total tests: .*Passed: [1-9]" "$work/tests.log"; then
    echo "no Category=Cuda test passed; see the skip reasons above" >&2
    status=1
  fi
  step 120 "$ns" bench iteration --device cuda --size 512 --repeat 10 --json | tee "$work/iteration-512.json"
  step 120 "$ns" bench kernels --device cuda | tee "$work/kernels.txt"
  step 120 "$ns" bench iteration --device cuda --size 1024 --repeat 10 --json | tee "$work/iteration-1024.json"
  # The peer: the same iteration in PyTorch on the same GPU, with the same weights (FP32, cuDNN autotuned).
  step 60 "$ns" model export --weights random:0 --out-dir "$work/peer" >/dev/null
  for size in 512 1024; do
    step 120 python3 tools/peers/pytorch_peer.py --model "$work/peer/forward.onnx" --size "$size" --device cuda --repeat 10 --warmup 3 | tee "$work/peer-$size.json"
  done
  # A test that left CUDA unusable fails every test after it in its process: the others in a process without it,
  # then that test alone (under compute-sanitizer's memcheck where the machine has it, which names the kernel,
  # thread and address; slow where it instruments cuDNN, so it gets what time is left). Any other failure: all of
  # them again under cuDNN's HEURISTIC choice (the one they passed with on the H200 before), which tells whether our
  # EXHAUSTIVE search's algorithms are the cause.
  # (Tests stopped at their time limit end without a result too, but not because of the test that was running.)
  local fatal=""
  (( status == 124 || status == 137 )) || fatal="$(awk -f tools/fatal-test.awk "$work/tests.log")"
  if [ -n "$fatal" ]; then
    echo "$fatal" > "$work/fatal-test.txt"
    local sanitizer; sanitizer="$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)"
    step 240 "$bin/neuralstyle-tests" --filter "Category=Cuda&FullyQualifiedName!=$fatal" > "$work/tests-without-fatal.log" 2>&1
    step 150 ${sanitizer:+"$sanitizer" --tool memcheck --print-limit 20} "$bin/neuralstyle-tests" --filter "Category=Cuda&FullyQualifiedName=$fatal" > "$work/fatal-test.log" 2>&1
  elif (( status != 0 && status != 124 && status != 137 )); then
    step 240 env NEURALSTYLE_CUDNN_SEARCH=HEURISTIC "$bin/neuralstyle-tests" --filter Category=Cuda > "$work/tests-heuristic.log"
  fi
  step 120 "$ns" bench iteration --device cuda --size 512 --repeat 10 --precision tf32 --json | tee "$work/iteration-512-tf32.json"
  # cuDNN's algorithm choice: ours is EXHAUSTIVE (timing the candidates once per shape); HEURISTIC times nothing.
  for size in 512 1024; do
    step 180 env NEURALSTYLE_CUDNN_SEARCH=HEURISTIC "$ns" bench iteration --device cuda --size "$size" --repeat 10 --json | tee "$work/iteration-$size-heuristic.json"
  done
  # What a sweep's rates cost side by side: an image added to the batch, against one alone.
  step 150 "$ns" bench iteration --device cuda --size 512 --batch 1,7 --repeat 10 --json | tee "$work/iteration-512-batches.json"
  set -e
  echo
  echo "== Category=Cuda tests, by class =="
  grep -oE "^\s+(Passed|Failed|Skipped) NeuralStyle\.Tests\.[A-Za-z]+" "$work/tests.log" | awk '{print $2, $1}' | sort | uniq -c || true
  grep -E "^Total tests" "$work/tests.log" || true
  grep -E "^\s+Failed NeuralStyle" "$work/tests.log" | head -12 || true
  if [ -f "$work/fatal-test.txt" ]; then
    echo "CUDA was unusable after $(cat "$work/fatal-test.txt"); that test alone$(grep -qs '^=========' "$work/fatal-test.log" && echo ', under compute-sanitizer'):"
    grep -sE "^Total tests" "$work/fatal-test.log" || echo "(did not finish)"
    grep -sE "^\s+Failed NeuralStyle" "$work/fatal-test.log" | head -3 || true
    grep -sE "^=========" "$work/fatal-test.log" | head -12 || true
    echo "the other tests, in a process without it:"
    grep -sE "^Total tests" "$work/tests-without-fatal.log" || echo "(did not finish)"
    grep -sE "^\s+Failed NeuralStyle" "$work/tests-without-fatal.log" | head -12 || true
  fi
  if [ -f "$work/tests-heuristic.log" ]; then
    echo "the same tests under NEURALSTYLE_CUDNN_SEARCH=HEURISTIC:"
    grep -E "^Total tests" "$work/tests-heuristic.log" || echo "(did not finish)"
    grep -E "^\s+Failed NeuralStyle" "$work/tests-heuristic.log" | head -12 || true
  fi
  echo "max pooling against the CPU, each iteration from the CPU's state (outliers allowed: 1% of the values):"
  grep -E "^\s+iteration [0-9]+: .* image values outside" "$work/tests.log" | sort | uniq -c | sort -rn | head -8 || true
  echo
  echo "== Per iteration, batch 1, median ms (device events) =="
  python3 - "$work" <<'PY' || echo "(no iteration benchmark ran)"
import json, sys, os
work = sys.argv[1]
print(f"{'run':<16}{'forward':>9}{'loss':>8}{'backward':>10}{'tv':>7}{'adam':>7}{'sync':>7}{'total':>9}{'wall':>8}{'GFLOP/s':>9}{'device MB':>11}{'start':>8}")
for name in ["512", "1024", "512-tf32", "512-heuristic", "1024-heuristic"]:
    path = os.path.join(work, f"iteration-{name}.json")
    try:
        j = json.load(open(path))
    except Exception:
        print(f"{name:<16} (failed; see above)")
        continue
    ms = lambda k: j.get(k + "_ms", {}).get("median", float("nan"))  # nan: a build from before that phase was timed
    print(f"{name:<16}{ms('forward'):9.2f}{ms('loss_kernels'):8.2f}{ms('backward'):10.2f}{ms('tv'):7.2f}{ms('adam'):7.2f}{ms('host_sync'):7.2f}{ms('total'):9.2f}{ms('wall_clock'):8.2f}{j['gflops']:9.0f}{j.get('peak_device_memory_mb', float('nan')):11.0f}{j.get('start_ms', float('nan')):8.0f}")
    if name == "1024":
        print(f"  device at 1024 px (with each style layer's product choice): {j['device']}")
print("  total: the phases, stream time between device events; wall: the host's clock around each iteration (the phases and the device's idle gaps)")
print("  start: ms to start the batch (backward session, product timing, first iteration's excess), what a sweep weighs a stopped rate's leaving against")
print()
print("wall clock against PyTorch's synchronised wall clock per iteration:")
print(f"{'size':<12}{'ours ms':>9}{'PyTorch ms':>12}{'ours/PyTorch':>14}")
for size in ["512", "1024"]:
    try:
        ours = json.load(open(os.path.join(work, f"iteration-{size}.json")))["wall_clock_ms"]["median"]
        peer = json.load(open(os.path.join(work, f"peer-{size}.json")))
        print(f"{size:<12}{ours:9.2f}{peer['median_s'] * 1000:12.2f}{ours / (peer['median_s'] * 1000):14.2f}   ({peer['peer']})")
    except Exception as e:
        print(f"{size:<12} (missing: {e})")
print()
try:
    runs = json.load(open(os.path.join(work, "iteration-512-batches.json")))
    one, seven = runs[0]["wall_clock_ms"]["median"], runs[1]["wall_clock_ms"]["median"]
    print(f"a sweep's rates side by side at 512 px (wall clock): batch 1 {one:.2f} ms, batch 7 {seven:.2f} ms, an image added {runs[1]['added_image_ms']:.2f} ms ({seven / one:.2f}× one alone)")
except Exception as e:
    print(f"batch 1 against 7 at 512 px: (missing: {e})")
PY
  echo
  echo "== Gram and style gradient against cuBLAS; Adam against the device copy =="
  grep -E "copy 512 MB|^gram|^style grad|^adam" "$work/kernels.txt" || echo "(no kernel benchmark ran)"
  exit "$status"
}

case "${1:-}" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: tools/gpu-check.sh prepare|run" >&2; exit 2 ;;
esac
