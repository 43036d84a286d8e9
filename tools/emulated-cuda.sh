#!/usr/bin/env bash
# Makes this machine look like one with a working CUDA driver and GPU, to try the CUDA path's plumbing without one:
# builds kernels/emulation/emulated_driver.cpp (the driver API and cuBLAS functions NeuralStyle binds, on the host)
# into out/emulated-cuda/, names it libcuda.so.1 and libcublas.so.12 there, and prints the LD_LIBRARY_PATH that puts it
# and NVIDIA's NVRTC 12.4 (out/nvidia-debian, from tools/install-deps.sh) first. Nothing it runs is a GPU's speed, and
# ONNX Runtime's CUDA provider still needs CUDA 13's real libraries, so --device auto renders on the CPU and says why.
#
#   export LD_LIBRARY_PATH="$(tools/emulated-cuda.sh)"
#   dotnet run --project src/NeuralStyle.Cli -c Release -- doctor
#   NS_EMULATED_DEVICE_MB=4096 GPU_CHECK_BUDGET_S=240 bash tools/gpu-check.sh run    # after 'prepare': a dry run
#
# The emulated device has 1 GiB unless NS_EMULATED_DEVICE_MB says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
nvrtc=out/nvidia-debian/usr/lib/x86_64-linux-gnu
if [ ! -e "$nvrtc/libnvrtc.so.12" ]; then
  echo "NVRTC 12.4 is not under $nvrtc: run tools/install-deps.sh first." >&2
  exit 1
fi

folder=out/emulated-cuda
mkdir -p "$folder"
g++ -std=c++20 -O1 -pthread -shared -fPIC -fvisibility=hidden -Wall -Wextra -Werror \
  -o "$folder/libns_emulated_cuda.so" kernels/emulation/emulated_driver.cpp
ln -sf libns_emulated_cuda.so "$folder/libcuda.so.1"
ln -sf libns_emulated_cuda.so "$folder/libcublas.so.12"
echo "$PWD/$folder:$PWD/$nvrtc${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
