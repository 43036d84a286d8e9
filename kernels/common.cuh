// common.cuh — the one header every kernel includes. It lets the same kernel source compile with NVRTC at run
// time, with clang (-x cuda -nocudainc -nocudalib, for the PTX check in CI) and with a host C++ compiler (the
// emulation harness, NS_HOST_EMULATION), and holds the shared helpers: block size, warp and block sums.
#pragma once

#if defined(NS_HOST_EMULATION)
#include "emulation/host_cuda.hpp"
#elif defined(__clang__) && defined(__CUDA__) && !defined(__CUDACC_RTC__) && !defined(__CUDACC__)
// clang without the CUDA headers: declare what they would.
#include <__clang_cuda_builtin_vars.h>
#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __shared__ __attribute__((shared))
#define __forceinline__ __inline__ __attribute__((always_inline))
__device__ __forceinline__ float __shfl_down_sync(unsigned mask, float v, unsigned delta)
{
    return __nvvm_shfl_sync_down_f32(mask, v, delta, 0x1f);
}
#endif

// Correctly rounded square root (float or double, by argument) and round-to-nearest-even. NVRTC declares the CUDA
// math functions itself but knows no __builtin_sqrt; clang without the CUDA headers knows only the builtins.
#if defined(NS_HOST_EMULATION)
#define NS_SQRT(x) std::sqrt(x)
#define NS_RINTF(x) std::nearbyint(x)
#elif defined(__CUDACC_RTC__)
#define NS_SQRT(x) sqrt(x)
#define NS_RINTF(x) rintf(x)
#else
#define NS_SQRT(x) __builtin_sqrt(x)
#define NS_RINTF(x) __builtin_rintf(x)
#endif

typedef unsigned long long ns_size;

// Threads per block of every one-dimensional kernel; LaunchConfig.BlockSize on the C# side must match.
#define NS_BLOCK 256
// Edge of the square tiles of the matrix-product kernels (gram, style_grad); LaunchConfig.Tile must match.
#define NS_TILE 16

// Sum over the 32 lanes of a warp; lane 0 holds the result. Every lane of the warp must call it.
__device__ __forceinline__ float ns_warp_sum(float v)
{
    for (int offset = 16; offset > 0; offset >>= 1)
    {
        v += __shfl_down_sync(0xffffffffu, v, offset);
    }

    return v;
}

// Sum over a one-dimensional block of NS_BLOCK threads; thread 0 holds the result. Every thread must call it.
__device__ __forceinline__ float ns_block_sum(float v)
{
    __shared__ float warp_sums[NS_BLOCK / 32];
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    v = ns_warp_sum(v);
    if (lane == 0)
    {
        warp_sums[warp] = v;
    }

    __syncthreads();
    v = threadIdx.x < NS_BLOCK / 32 ? warp_sums[lane] : 0.0f;
    if (warp == 0)
    {
        v = ns_warp_sum(v);
    }

    __syncthreads(); // warp_sums may be reused by the caller's next sum
    return v;
}
