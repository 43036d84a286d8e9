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
// The matrix-product kernels (gram, style_grad) run blocks of NS_TILE × NS_TILE threads, each block one
// NS_WIDE_TILE × NS_WIDE_TILE tile of the output, and sum NS_TILE steps of the inner index at a time;
// LaunchConfig.Tile and LaunchConfig.WideTile must match.
#define NS_TILE 16
#define NS_WIDE_TILE 64
#define NS_PER_THREAD (NS_WIDE_TILE / NS_TILE)

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

// Register tiling for the matrix products. A block stages NS_TILE steps k of the inner index in shared memory as two
// panels, a[k][row] for the tile's NS_WIDE_TILE rows and b[k][col] for its columns; each thread then accumulates
// NS_PER_THREAD × NS_PER_THREAD outputs, rows ty + NS_TILE·r and columns tx + NS_TILE·c, in registers: two shared
// reads feed eight multiply-adds where one output per thread needed two reads for each. The strided rows and columns
// make a warp's reads of a broadcasts and of b consecutive; the row length, NS_WIDE_TILE + 2, makes a warp's
// transposed stores (16 steps × 2 rows) fall in 32 different banks.
typedef float ns_panel[NS_TILE][NS_WIDE_TILE + 2];

// acc[r][c] += Σ_k a[k][ty + NS_TILE·r] · b[k][tx + NS_TILE·c], k in increasing order.
__device__ __forceinline__ void ns_panel_product(float (&acc)[NS_PER_THREAD][NS_PER_THREAD], const ns_panel& a, const ns_panel& b)
{
    for (int k = 0; k < NS_TILE; k++)
    {
        float column_a[NS_PER_THREAD], row_b[NS_PER_THREAD];
        for (int q = 0; q < NS_PER_THREAD; q++)
        {
            column_a[q] = a[k][threadIdx.y + NS_TILE * q];
            row_b[q] = b[k][threadIdx.x + NS_TILE * q];
        }

        for (int r = 0; r < NS_PER_THREAD; r++)
        {
            for (int c = 0; c < NS_PER_THREAD; c++)
            {
                acc[r][c] += column_a[r] * row_b[c];
            }
        }
    }
}

// panel[k][row] = m[row0 + row, k0 + k] − (minus ? minus[row0 + row, k0 + k] : 0) for the row-major matrix m with
// leading dimension ld: NS_WIDE_TILE rows from row0, NS_TILE columns from k0, transposed; zero where the row is not
// below rows or the column not below k_end. Consecutive threads read consecutive columns of a row.
__device__ __forceinline__ void ns_load_transposed(ns_panel& panel, const float* m, const float* minus, ns_size ld, int row0, int rows, int k0, int k_end)
{
    int t = threadIdx.y * NS_TILE + threadIdx.x;
    for (int e = t; e < NS_WIDE_TILE * NS_TILE; e += NS_TILE * NS_TILE)
    {
        int row = row0 + e / NS_TILE, k = k0 + e % NS_TILE;
        ns_size at = (ns_size)row * ld + k;
        panel[e % NS_TILE][e / NS_TILE] = row < rows && k < k_end ? (minus ? m[at] - minus[at] : m[at]) : 0.0f;
    }
}

// panel[k][col] = m[k0 + k, col0 + col] for the row-major matrix m with leading dimension ld: NS_TILE rows from k0,
// NS_WIDE_TILE columns from col0; zero where the row is not below k_end or the column not below cols.
__device__ __forceinline__ void ns_load(ns_panel& panel, const float* m, ns_size ld, int k0, int k_end, int col0, int cols)
{
    int t = threadIdx.y * NS_TILE + threadIdx.x;
    for (int e = t; e < NS_WIDE_TILE * NS_TILE; e += NS_TILE * NS_TILE)
    {
        int k = k0 + e / NS_WIDE_TILE, col = col0 + e % NS_WIDE_TILE;
        panel[e / NS_WIDE_TILE][e % NS_WIDE_TILE] = k < k_end && col < cols ? m[(ns_size)k * ld + col] : 0.0f;
    }
}
