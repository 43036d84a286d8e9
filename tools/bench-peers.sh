#!/usr/bin/env bash
# Ours against the PyTorch peer on this machine, alternately at 256 and 512 px, batch 1, 2 threads, the same
# weights (exported from our random features) and the same loss. Installs Debian's python3-torch and OpenBLAS's
# OpenMP build when missing (the peer reads the weights without the onnx package). python3-torch alone pulls only
# the reference BLAS (libblas3), which made the peer about 3.7× slower at 256 px (3.4 s against 0.91 s), and
# OpenBLAS's pthread build fights PyTorch's OpenMP threads (1.09–1.40 s). The peer runs with that OpenMP BLAS first on its library path (the
# system's BLAS choice is left alone), with Debian's /usr/bin/python3, and without OPENBLAS_CORETYPE /
# OPENBLAS_L2_SIZE, so its BLAS picks this CPU's own kernels; the script checks which BLAS torch loaded and
# refuses to compare against any other. Prints the ratio ours/peer per size.
#   tools/bench-peers.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-2}"
py=/usr/bin/python3
openmp_blas=/usr/lib/x86_64-linux-gnu/openblas-openmp
export LD_LIBRARY_PATH="$openmp_blas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
blas_in_torch() { "$py" -c "import torch; print(next((l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.split()[-1]), 'none'))" 2>/dev/null; }
if ! "$py" -c "import torch" 2>/dev/null || [[ "$(blas_in_torch)" != "$openmp_blas"/* ]]; then
  echo "installing python3-torch and OpenBLAS (OpenMP build)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch libopenblas0-openmp >/dev/null
fi
blas=$(blas_in_torch)
if [[ "$blas" != "$openmp_blas"/* ]]; then
  echo "PyTorch loaded $blas, not OpenBLAS's OpenMP build from $openmp_blas: the peer would not be configured fairly." >&2
  exit 2
fi
echo "peer: PyTorch with $blas"
dotnet build -c Release src/NeuralStyle.Cli >/dev/null
ours="dotnet src/NeuralStyle.Cli/bin/Release/net10.0/neuralstyle.dll"
mkdir -p out/peer
$ours model export --weights random:0 --out-dir out/peer >/dev/null
declare -A mine theirs
for size in 256 512; do mine[$size]=""; theirs[$size]=""; done
for round in $(seq "$rounds"); do
  for size in 256 512; do
    o=$($ours bench iteration --size "$size" --repeat 5 --warmup 2 --json | "$py" -c "import json,sys; print(json.load(sys.stdin)['total_ms']['median']/1000)")
    p=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$py" tools/peers/pytorch_peer.py --model out/peer/forward.onnx --size "$size" --threads 2 \
        | "$py" -c "import json,sys; print(json.load(sys.stdin)['median_s'])")
    echo "round $round, ${size} px: ours ${o} s, PyTorch ${p} s"
    mine[$size]+="$o "; theirs[$size]+="$p "
  done
done
echo
echo "size  ours (s)  PyTorch (s)  ours/peer   (medians over rounds)"
for size in 256 512; do
  "$py" - "$size" "${mine[$size]}" "${theirs[$size]}" <<'PY'
import statistics, sys
size, ours, peer = sys.argv[1], [float(v) for v in sys.argv[2].split()], [float(v) for v in sys.argv[3].split()]
o, p = statistics.median(ours), statistics.median(peer)
print(f"{size:>4}  {o:8.3f}  {p:11.3f}  {o / p:9.2f}")
PY
done
