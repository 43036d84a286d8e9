// content_grad.cu — the content loss gradient at one tapped layer.
//
// Effectively computes dF[n,i] (+)= k · (F[n,i] − P[i]), with k = cw·2/(C·H·W).
// Layout: F and dF [N, count] (count = C·H·W), P [count] shared by the batch; float32.
// Launch: block NS_BLOCK; grid (ceil(count / NS_BLOCK), N). Every thread checks its bound.
// Aliasing: dF may not overlap F or P. accumulate = 0 writes (=), 1 adds (+=).
#include "common.cuh"

extern "C" __global__ void content_grad_backward(const float* features, const float* target, float* grad, int count, float k, int accumulate)
{
    int i = blockIdx.x * NS_BLOCK + threadIdx.x;
    if (i >= count)
    {
        return;
    }

    ns_size at = (ns_size)blockIdx.y * count + i;
    float value = k * (features[at] - target[i]);
    grad[at] = accumulate ? grad[at] + value : value;
}
