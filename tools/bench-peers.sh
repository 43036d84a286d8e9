#!/usr/bin/env bash
# Ours against the PyTorch and TorchSharp peers on this machine, alternately at 256 and 512 px, batch 1, 2 threads,
# the same weights (our random features) and the same loss. The TorchSharp peer (tools/peers/torchsharp, TorchSharp-cpu
# with LibTorch 2.10, about 600 MB from NuGet on its first build) needs GCC 13's libstdc++ for one symbol; where the
# system's is older (Debian 12), tools/peers/torchsharp/old-libstdcxx.py mends the built copy (it needs patchelf and g++,
# installed when missing). Installs Debian's python3-torch and OpenBLAS's
# OpenMP build when missing (the peer reads the weights without the onnx package). python3-torch alone pulls only
# the reference BLAS (libblas3), which made the peer about 3.7× slower at 256 px (3.4 s against 0.91 s), and
# OpenBLAS's pthread build fights PyTorch's OpenMP threads (1.09–1.40 s). The peer runs with that OpenMP BLAS first on its library path (the
# system's BLAS choice is left alone), with Debian's /usr/bin/python3, and without OPENBLAS_CORETYPE /
# OPENBLAS_L2_SIZE, so its BLAS picks this CPU's own kernels; the script checks which BLAS torch loaded and
# refuses to compare against any other. Prints ours/peer per size, for each peer.
#   tools/bench-peers.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-2}"
py=/usr/bin/python3
openmp_blas=/usr/lib/x86_64-linux-gnu/openblas-openmp
export LD_LIBRARY_PATH="$openmp_blas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
install() { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
blas_in_torch() { "$py" -c "import torch; print(next((l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.split()[-1]), 'none'))" 2>/dev/null; }
if ! "$py" -c "import torch" 2>/dev/null || [[ "$(blas_in_torch)" != "$openmp_blas"/* ]]; then
  echo "installing python3-torch and OpenBLAS (OpenMP build)"
  install python3-torch libopenblas0-openmp
fi
blas=$(blas_in_torch)
if [[ "$blas" != "$openmp_blas"/* ]]; then
  echo "PyTorch loaded $blas, not OpenBLAS's OpenMP build from $openmp_blas: the peer would not be configured fairly." >&2
  exit 2
fi
echo "peer: PyTorch with $blas"
command -v patchelf >/dev/null && command -v g++ >/dev/null || install patchelf g++
dotnet build -c Release tools/peers/torchsharp >/dev/null
torchsharp=tools/peers/torchsharp/bin/Release/net10.0
"$py" tools/peers/torchsharp/old-libstdcxx.py "$torchsharp/runtimes/linux-x64/native/libLibTorchSharp.so"
dotnet build -c Release src/NeuralStyle.Cli >/dev/null
ours="dotnet src/NeuralStyle.Cli/bin/Release/net10.0/neuralstyle.dll"
mkdir -p out/peer
$ours model export --weights random:0 --out-dir out/peer >/dev/null
declare -A mine pytorch torchsharp
for size in 256 512; do mine[$size]=""; pytorch[$size]=""; torchsharp[$size]=""; done
field() { "$py" -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
for round in $(seq "$rounds"); do
  for size in 256 512; do
    o=$($ours bench iteration --size "$size" --repeat 5 --warmup 2 --json | "$py" -c "import json,sys; print(json.load(sys.stdin)['total_ms']['median']/1000)")
    pj=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$py" tools/peers/pytorch_peer.py --model out/peer/forward.onnx --size "$size" --threads 2)
    tj=$(dotnet "$torchsharp/torchsharp-peer.dll" --size "$size" --threads 2 --repeat 5 --warmup 2)
    p=$(field median_s <<< "$pj"); t=$(field median_s <<< "$tj")
    # Both peers draw the same noise images from the same seed: their first losses agree if they compute the same thing.
    echo "round $round, ${size} px: ours ${o} s, PyTorch ${p} s, TorchSharp ${t} s (first loss: PyTorch $(field first_loss <<< "$pj"), TorchSharp $(field first_loss <<< "$tj"))"
    mine[$size]+="$o "; pytorch[$size]+="$p "; torchsharp[$size]+="$t "
  done
done
echo
echo "size  ours (s)  PyTorch (s)  TorchSharp (s)  ours/PyTorch  ours/TorchSharp   (medians over rounds)"
for size in 256 512; do
  "$py" - "$size" "${mine[$size]}" "${pytorch[$size]}" "${torchsharp[$size]}" <<'PY'
import statistics, sys
size, *runs = sys.argv[1:]
o, p, t = (statistics.median(float(v) for v in run.split()) for run in runs)
print(f"{size:>4}  {o:8.3f}  {p:11.3f}  {t:14.3f}  {o / p:12.2f}  {o / t:15.2f}")
PY
done
