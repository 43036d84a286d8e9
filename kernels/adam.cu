// adam.cu — Adam with bias correction, in place, a learning rate per batch item, exactly as torch.optim.Adam.
//
// adam_prepare (one thread per item n, only where active[n]): steps[n] += 1; keeps β1ᵗ and β2ᵗ in double;
// step_size[n] = lr[n] / (1 − β1ᵗ); root[n] = √(1 − β2ᵗ). Launch: block NS_BLOCK, grid ceil(N / NS_BLOCK).
// adam_update effectively computes, for active items, m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
// (1−β1 and 1−β2 arrive precomputed in double and rounded once: 1 − 0.999f in float is off by 5e-5 relative)
// x ← x − step_size·m / (√v / root + ε). Layout: x, m, v, g [N, length]; float32.
// Launch: block NS_BLOCK; grid (ceil(length / NS_BLOCK), N). Aliasing: x, m, v updated in place; g read only.
// An inactive item (stopped, or its loss was not finite this iteration) is left untouched.
#include "common.cuh"

extern "C" __global__ void adam_prepare(const float* learning_rates, const unsigned char* active, int* steps, double* beta1_power,
                                        double* beta2_power, float* step_size, float* root, int items, double beta1, double beta2)
{
    int n = blockIdx.x * NS_BLOCK + threadIdx.x;
    if (n >= items || !active[n])
    {
        return;
    }

    steps[n] += 1;
    beta1_power[n] *= beta1;
    beta2_power[n] *= beta2;
    step_size[n] = (float)(learning_rates[n] / (1.0 - beta1_power[n]));
    root[n] = (float)NS_SQRT(1.0 - beta2_power[n]);
}

extern "C" __global__ void adam_update(float* image, float* m, float* v, const float* grad, const unsigned char* active,
                                       const float* step_size, const float* root, int length, float beta1, float one_minus_beta1,
                                       float beta2, float one_minus_beta2, float epsilon)
{
    int i = blockIdx.x * NS_BLOCK + threadIdx.x;
    int n = blockIdx.y;
    if (i >= length || !active[n])
    {
        return;
    }

    ns_size at = (ns_size)n * length + i;
    float g = grad[at];
    float mi = beta1 * m[at] + one_minus_beta1 * g;
    float vi = beta2 * v[at] + one_minus_beta2 * g * g;
    m[at] = mi;
    v[at] = vi;
    image[at] -= step_size[n] * mi / ((float)NS_SQRT(vi) / root[n] + epsilon);
}
