// gram.cu — batched Gram matrices.
//
// Effectively computes G[n,i,j] = scale · Σ_p F[n,i,p] · F[n,j,p]  (scale = 1/(C·M) for the style loss).
// Layout: F [N, C, M] row-major (M = H·W positions per channel), G [N, C, C] row-major; float32 in and out,
// float32 accumulation in registers.
//
// gram_forward — launch: block (NS_TILE, NS_TILE); grid (T, T, N·S) with T = ceil(C / NS_WIDE_TILE) and S slices of
// the positions, slice s covering [s·slice_positions, min(M, (s+1)·slice_positions)). G is symmetric, so only tiles
// on or above the diagonal (blockIdx.y ≤ blockIdx.x) work; each writes its NS_WIDE_TILE² block and the mirrored one,
// which halves the arithmetic. Each thread sums NS_PER_THREAD² entries in registers (ns_panel_product in
// common.cuh), the positions in steps of NS_TILE. Tails of C and of each slice are padded with zeros in shared
// memory. Block z = n·S + s writes scale times its slice's sum to out[z] (out is [N·S, C, C]): with S = 1 that is G
// itself; with S > 1 a workspace, which gram_sum_slices then adds up. The slices exist because a thin layer has few
// tiles (64 channels: one) over very many positions (262,144 at 512 px): without them a few blocks would do all the
// work.
//
// gram_sum_slices — G[n, e] = scale · Σ_s W[n, s, e] for e < C·C, the slices added in order (deterministic, no
// atomics). Launch: block NS_BLOCK; grid (ceil(C·C / NS_BLOCK), N).
//
// Aliasing: out and G must not overlap F or each other. Both write (=), never accumulate.
#include "common.cuh"

extern "C" __global__ void gram_forward(const float* features, float* out, int channels, int positions, int slice_positions, int slices, float scale)
{
    if (blockIdx.y > blockIdx.x)
    {
        return; // below the diagonal: the mirrored tile writes it (uniform for the whole block)
    }

    __shared__ ns_panel rows_i, rows_j;
    int item = blockIdx.z / slices, slice = blockIdx.z % slices;
    const float* f = features + (ns_size)item * channels * positions;
    int begin = slice * slice_positions;
    int end = positions - begin < slice_positions ? positions : begin + slice_positions;
    int i0 = blockIdx.y * NS_WIDE_TILE, j0 = blockIdx.x * NS_WIDE_TILE;
    float sums[NS_PER_THREAD][NS_PER_THREAD] = {};
    for (int p0 = begin; p0 < end; p0 += NS_TILE)
    {
        ns_load_transposed(rows_i, f, nullptr, positions, i0, channels, p0, end);
        ns_load_transposed(rows_j, f, nullptr, positions, j0, channels, p0, end);
        __syncthreads();
        ns_panel_product(sums, rows_i, rows_j);
        __syncthreads();
    }

    float* g = out + (ns_size)blockIdx.z * channels * channels;
    for (int r = 0; r < NS_PER_THREAD; r++)
    {
        for (int c = 0; c < NS_PER_THREAD; c++)
        {
            int i = i0 + threadIdx.y + NS_TILE * r, j = j0 + threadIdx.x + NS_TILE * c;
            if (i < channels && j < channels)
            {
                g[(ns_size)i * channels + j] = sums[r][c] * scale;
                g[(ns_size)j * channels + i] = sums[r][c] * scale;
            }
        }
    }
}

extern "C" __global__ void gram_sum_slices(const float* partial, float* gram, int count, int slices, float scale)
{
    ns_size e = (ns_size)blockIdx.x * NS_BLOCK + threadIdx.x;
    if (e >= (ns_size)count)
    {
        return;
    }

    const float* w = partial + (ns_size)blockIdx.y * slices * count + e;
    float sum = 0.0f;
    for (int s = 0; s < slices; s++)
    {
        sum += w[(ns_size)s * count];
    }

    gram[(ns_size)blockIdx.y * count + e] = sum * scale;
}
