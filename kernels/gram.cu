// gram.cu — batched Gram matrices.
//
// Effectively computes G[n,i,j] = scale · Σ_p F[n,i,p] · F[n,j,p]  (scale = 1/(C·M) for the style loss).
// Layout: F [N, C, M] row-major (M = H·W positions per channel), G [N, C, C] row-major; float32 in and out,
// float32 accumulation in registers.
// Launch: block (NS_TILE, NS_TILE); grid (T, T, N) with T = ceil(C / NS_TILE). G is symmetric, so only tiles on or
// above the diagonal (blockIdx.y ≤ blockIdx.x) work; each writes its 16×16 block and the mirrored one, which
// halves the arithmetic. Tails of C and M are padded with zeros in shared memory.
// Aliasing: G must not overlap F. Writes (=), never accumulates.
#include "common.cuh"

extern "C" __global__ void gram_forward(const float* features, float* gram, int channels, int positions, float scale)
{
    if (blockIdx.y > blockIdx.x)
    {
        return; // below the diagonal: the mirrored tile writes it (uniform for the whole block)
    }

    __shared__ float rows_i[NS_TILE][NS_TILE + 1];
    __shared__ float rows_j[NS_TILE][NS_TILE + 1];
    const float* f = features + (ns_size)blockIdx.z * channels * positions;
    int ty = threadIdx.y, tx = threadIdx.x;
    int i = blockIdx.y * NS_TILE + ty, j = blockIdx.x * NS_TILE + tx;
    int load_i = blockIdx.y * NS_TILE + ty, load_j = blockIdx.x * NS_TILE + ty;
    float sum = 0.0f;
    for (int p0 = 0; p0 < positions; p0 += NS_TILE)
    {
        int p = p0 + tx;
        rows_i[ty][tx] = load_i < channels && p < positions ? f[(ns_size)load_i * positions + p] : 0.0f;
        rows_j[ty][tx] = load_j < channels && p < positions ? f[(ns_size)load_j * positions + p] : 0.0f;
        __syncthreads();
        for (int k = 0; k < NS_TILE; k++)
        {
            sum += rows_i[ty][k] * rows_j[tx][k];
        }

        __syncthreads();
    }

    if (i < channels && j < channels)
    {
        float* g = gram + (ns_size)blockIdx.z * channels * channels;
        g[(ns_size)i * channels + j] = sum * scale;
        g[(ns_size)j * channels + i] = sum * scale;
    }
}
