#!/usr/bin/env bash
# Ours against the PyTorch peer on this machine, alternately at 256 and 512 px, batch 1, 2 threads, the same
# weights (exported from our random features) and the same loss. Installs Debian's python3-torch and
# python3-onnx when missing; runs the peer with Debian's /usr/bin/python3 and without OPENBLAS_CORETYPE /
# OPENBLAS_L2_SIZE, so its BLAS picks this CPU's own kernels. Prints the ratio ours/peer per size.
#   tools/bench-peers.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-2}"
py=/usr/bin/python3
if ! "$py" -c "import torch, onnx" 2>/dev/null; then
  echo "installing python3-torch and python3-onnx"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-onnx >/dev/null
fi
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
