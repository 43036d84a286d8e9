// style_grad.cu — the style loss gradient at one tapped layer.
//
// Effectively computes dF[n,i,p] (+)= k · Σ_c (G[n,i,c] − A[i,c]) · F[n,c,p], with k = sw·w_l·4/(C²·C·M)
// (DESIGN.md: d(mean over C² of (G−A)²)/dF for G = F Fᵀ/(C·M)).
// Layout: G [N, C, C], A [C, C] (shared by the batch), F and dF [N, C, M]; float32, float32 accumulation.
// Launch: block (NS_TILE, NS_TILE); grid (ceil(M / NS_TILE), ceil(C / NS_TILE), N). Tails padded with zeros.
// Aliasing: dF must not overlap G, A or F. accumulate = 0 writes (=), 1 adds (+=) to what dF holds.
#include "common.cuh"

extern "C" __global__ void style_grad_backward(const float* gram, const float* target, const float* features, float* grad,
                                               int channels, int positions, float k, int accumulate)
{
    __shared__ float difference[NS_TILE][NS_TILE + 1];
    __shared__ float columns[NS_TILE][NS_TILE + 1];
    ns_size n = blockIdx.z;
    const float* g = gram + n * channels * channels;
    const float* f = features + n * channels * positions;
    int ty = threadIdx.y, tx = threadIdx.x;
    int row = blockIdx.y * NS_TILE + ty, col = blockIdx.x * NS_TILE + tx;
    float sum = 0.0f;
    for (int c0 = 0; c0 < channels; c0 += NS_TILE)
    {
        int c = c0 + tx;
        difference[ty][tx] = row < channels && c < channels ? g[(ns_size)row * channels + c] - target[(ns_size)row * channels + c] : 0.0f;
        int fr = c0 + ty;
        columns[ty][tx] = fr < channels && col < positions ? f[(ns_size)fr * positions + col] : 0.0f;
        __syncthreads();
        for (int q = 0; q < NS_TILE; q++)
        {
            sum += difference[ty][q] * columns[q][tx];
        }

        __syncthreads();
    }

    if (row < channels && col < positions)
    {
        float* out = grad + n * channels * positions + (ns_size)row * positions + col;
        *out = accumulate ? *out + k * sum : k * sum;
    }
}
