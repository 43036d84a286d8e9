// style_grad.cu — the style loss gradient at one tapped layer.
//
// Effectively computes dF[n,i,p] (+)= k · Σ_c (G[n,i,c] − A[i,c]) · F[n,c,p], with k = sw·w_l·4/(C²·C·M)
// (DESIGN.md: d(mean over C² of (G−A)²)/dF for G = F Fᵀ/(C·M)).
// Layout: G [N, C, C], A [C, C] (shared by the batch), F and dF [N, C, M]; float32, float32 accumulation.
// Launch: block (NS_TILE, NS_TILE); grid (ceil(M / NS_WIDE_TILE), ceil(C / NS_WIDE_TILE), N): a block computes an
// NS_WIDE_TILE² tile of dF, each thread NS_PER_THREAD² entries in registers (ns_panel_product in common.cuh), the
// channels c in steps of NS_TILE. Tails padded with zeros.
// Aliasing: dF must not overlap G, A or F. accumulate = 0 writes (=), 1 adds (+=) to what dF holds.
#include "common.cuh"

extern "C" __global__ void style_grad_backward(const float* gram, const float* target, const float* features, float* grad,
                                               int channels, int positions, float k, int accumulate)
{
    __shared__ ns_panel difference, columns;
    ns_size n = blockIdx.z;
    const float* g = gram + n * channels * channels;
    const float* f = features + n * channels * positions;
    int row0 = blockIdx.y * NS_WIDE_TILE, col0 = blockIdx.x * NS_WIDE_TILE;
    float sums[NS_PER_THREAD][NS_PER_THREAD] = {};
    for (int c0 = 0; c0 < channels; c0 += NS_TILE)
    {
        ns_load_transposed(difference, g, target, channels, row0, channels, c0, channels); // (G − A)[row, c]
        ns_load(columns, f, positions, c0, channels, col0, positions);                      // F[c, col]
        __syncthreads();
        ns_panel_product(sums, difference, columns);
        __syncthreads();
    }

    for (int r = 0; r < NS_PER_THREAD; r++)
    {
        for (int c = 0; c < NS_PER_THREAD; c++)
        {
            int row = row0 + threadIdx.y + NS_TILE * r, col = col0 + threadIdx.x + NS_TILE * c;
            if (row < channels && col < positions)
            {
                float* out = grad + n * channels * positions + (ns_size)row * positions + col;
                *out = accumulate ? *out + k * sums[r][c] : k * sums[r][c];
            }
        }
    }
}
