// reduce.cu — loss values per batch item, reduced on the device in two deterministic passes (no atomics, so the
// result is the same on every run).
//
// squared_difference_partials effectively computes partials[n·B + b] = Σ over block b's share of i of
// (a[n,i] − t[i])², with a [N, count] and t [count] shared by the batch.
// Launch: block NS_BLOCK; grid (B, N), B = min(ceil(count / NS_BLOCK), 1024); block b takes i = b·NS_BLOCK + tid,
// then strides by B·NS_BLOCK.
// sum_partials effectively computes out[n] = scale · Σ_b partials[n·B + b]; launch block NS_BLOCK, grid N.
// Both write (=). float32 with float32 partial sums; the per-item result is scaled and stored in float64, as the
// CPU backend keeps its loss terms, so that a large loss weight does not overflow a term that fits a double.
#include "common.cuh"

extern "C" __global__ void squared_difference_partials(const float* a, const float* target, float* partials, int count)
{
    const float* item = a + (ns_size)blockIdx.y * count;
    float sum = 0.0f;
    for (int i = blockIdx.x * NS_BLOCK + threadIdx.x; i < count; i += gridDim.x * NS_BLOCK)
    {
        float d = item[i] - target[i];
        sum += d * d;
    }

    sum = ns_block_sum(sum);
    if (threadIdx.x == 0)
    {
        partials[(ns_size)blockIdx.y * gridDim.x + blockIdx.x] = sum;
    }
}

extern "C" __global__ void sum_partials(const float* partials, double* out, int blocks, double scale)
{
    const float* item = partials + (ns_size)blockIdx.x * blocks;
    float sum = 0.0f;
    for (int b = threadIdx.x; b < blocks; b += NS_BLOCK)
    {
        sum += item[b];
    }

    sum = ns_block_sum(sum);
    if (threadIdx.x == 0)
    {
        out[blockIdx.x] = (double)sum * scale;
    }
}
