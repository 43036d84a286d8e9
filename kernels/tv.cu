// tv.cu — total variation: value and gradient in one pass.
//
// TV(x) = Σ over channels and valid pixels of (x[y,x+1] − x[y,x])² + (x[y+1,x] − x[y,x])².
// Effectively computes, per pixel, grad[i] += w · ∂TV/∂x[i] = w · 2 · ((x_i − x_left) − (x_right − x_i) + (x_i − x_up)
// − (x_down − x_i)), each term present only where that neighbour exists; and per block the partial
// TV sum of the right and down differences its pixels own (reduce with sum_partials).
// Layout: x and grad [N, C, H, W]; partials [N, gridDim.x]. float32.
// Launch: block NS_BLOCK; grid (ceil(C·H·W / NS_BLOCK), N). Each thread gathers from its neighbours (no races).
// Aliasing: grad must not overlap x. grad is accumulated (+=); partials written (=).
#include "common.cuh"

extern "C" __global__ void tv_forward_backward(const float* image, float* grad, float* partials, int channels, int height, int width, float weight)
{
    int plane = height * width, count = channels * plane;
    int i = blockIdx.x * NS_BLOCK + threadIdx.x;
    ns_size base = (ns_size)blockIdx.y * count;
    float owned = 0.0f;
    if (i < count)
    {
        int p = i % plane, y = p / width, x = p % width;
        const float* v = image + base;
        float centre = v[i], derivative = 0.0f;
        if (x + 1 < width)
        {
            float d = v[i + 1] - centre;
            owned += d * d;
            derivative -= d;
        }

        if (y + 1 < height)
        {
            float d = v[i + width] - centre;
            owned += d * d;
            derivative -= d;
        }

        if (x > 0)
        {
            derivative += centre - v[i - 1];
        }

        if (y > 0)
        {
            derivative += centre - v[i - width];
        }

        grad[base + i] += 2.0f * weight * derivative;
    }

    owned = ns_block_sum(owned);
    if (threadIdx.x == 0)
    {
        partials[(ns_size)blockIdx.y * gridDim.x + blockIdx.x] = owned;
    }
}
