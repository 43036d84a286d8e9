// adam.cu — Adam with bias correction, in place, a learning rate per batch item, exactly as torch.optim.Adam.
//
// adam_prepare (one thread per item n, only where active[n]): t = steps[n] += 1; β1ᵗ and β2ᵗ from t in double (so the
// step count is the only state, and a revert or a resume sets nothing else); step_size[n] = lr[n] / (1 − β1ᵗ);
// root[n] = √(1 − β2ᵗ). Launch: block NS_BLOCK, grid ceil(N / NS_BLOCK).
// adam_update effectively computes, for active items, m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
// (1−β1 and 1−β2 arrive precomputed in double and rounded once: 1 − 0.999f in float is off by 5e-5 relative)
// x ← x − step_size·m / (√v / root + ε). Layout: x, m, v, g [N, length]; float32.
// Launch: block NS_BLOCK; grid (ceil(length / NS_BLOCK), N). Aliasing: x, m, v updated in place; g read only.
// An inactive item (stopped, or its loss was not finite this iteration) is left untouched.
#include "common.cuh"

// baseᵉˣᵖᵒⁿᵉⁿᵗ by squaring, for exponent ≥ 0: within a few ulps in double at any step count (far below float's
// rounding of the factors), and the same under NVRTC, clang and the host compiler, none of which need a math library.
__device__ __forceinline__ double ns_power(double base, int exponent)
{
    double result = 1.0;
    for (; exponent > 0; exponent >>= 1, base *= base)
    {
        if (exponent & 1)
        {
            result *= base;
        }
    }

    return result;
}

extern "C" __global__ void adam_prepare(const float* learning_rates, const unsigned char* active, int* steps, float* step_size,
                                        float* root, int items, double beta1, double beta2)
{
    int n = blockIdx.x * NS_BLOCK + threadIdx.x;
    if (n >= items || !active[n])
    {
        return;
    }

    int t = steps[n] += 1;
    step_size[n] = (float)(learning_rates[n] / (1.0 - ns_power(beta1, t)));
    root[n] = (float)NS_SQRT(1.0 - ns_power(beta2, t));
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
