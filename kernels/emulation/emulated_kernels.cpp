// emulated_kernels.cpp — every kernel of kernels/*.cu compiled for the host and exported with its launch
// geometry as arguments, so the test suite can run them through host_cuda.hpp and compare with float64
// references. Build: g++ -std=c++20 -O1 -pthread -shared -fPIC -fvisibility=hidden -o libns_emulated.so emulated_kernels.cpp
#define NS_HOST_EMULATION
#include "../gram.cu"
#include "../style_grad.cu"
#include "../content_grad.cu"
#include "../reduce.cu"
#include "../tv.cu"
#include "../adam.cu"
#include "../convert.cu"

#define NS_EXPORT extern "C" __attribute__((visibility("default")))
#define NS_GEOMETRY unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz
#define NS_DIMS dim3{gx, gy, gz}, dim3{bx, by, bz}

NS_EXPORT void emulate_gram_forward(NS_GEOMETRY, const float* f, float* out, int c, int m, int slice_m, int slices, float scale)
{ ns_emulate(NS_DIMS, gram_forward, f, out, c, m, slice_m, slices, scale); }

NS_EXPORT void emulate_gram_sum_slices(NS_GEOMETRY, const float* partial, float* g, int count, int slices, float scale)
{ ns_emulate(NS_DIMS, gram_sum_slices, partial, g, count, slices, scale); }

NS_EXPORT void emulate_style_grad_backward(NS_GEOMETRY, const float* g, const float* a, const float* f, float* d, int c, int m, float k, int acc)
{ ns_emulate(NS_DIMS, style_grad_backward, g, a, f, d, c, m, k, acc); }

NS_EXPORT void emulate_content_grad_backward(NS_GEOMETRY, const float* f, const float* p, float* d, int count, float k, int acc)
{ ns_emulate(NS_DIMS, content_grad_backward, f, p, d, count, k, acc); }

NS_EXPORT void emulate_squared_difference_partials(NS_GEOMETRY, const float* a, const float* t, float* partials, int count)
{ ns_emulate(NS_DIMS, squared_difference_partials, a, t, partials, count); }

NS_EXPORT void emulate_sum_partials(NS_GEOMETRY, const float* partials, double* out, int blocks, double scale)
{ ns_emulate(NS_DIMS, sum_partials, partials, out, blocks, scale); }

NS_EXPORT void emulate_tv_forward_backward(NS_GEOMETRY, const float* x, float* grad, float* partials, int c, int h, int w, float weight)
{ ns_emulate(NS_DIMS, tv_forward_backward, x, grad, partials, c, h, w, weight); }

NS_EXPORT void emulate_adam_prepare(NS_GEOMETRY, const float* lr, const unsigned char* active, int* steps, float* step_size,
                                    float* root, int items, double b1, double b2)
{ ns_emulate(NS_DIMS, adam_prepare, lr, active, steps, step_size, root, items, b1, b2); }

NS_EXPORT void emulate_adam_update(NS_GEOMETRY, float* x, float* m, float* v, const float* g, const unsigned char* active,
                                   const float* step_size, const float* root, int length, float b1, float c1, float b2, float c2, float eps)
{ ns_emulate(NS_DIMS, adam_update, x, m, v, g, active, step_size, root, length, b1, c1, b2, c2, eps); }

NS_EXPORT void emulate_rgb8_to_planes(NS_GEOMETRY, const unsigned char* px, float* planes, int w, int h, int stride, int ch)
{ ns_emulate(NS_DIMS, rgb8_to_planes, px, planes, w, h, stride, ch); }

NS_EXPORT void emulate_planes_to_rgb8(NS_GEOMETRY, const float* planes, unsigned char* px, int w, int h, int stride, int ch)
{ ns_emulate(NS_DIMS, planes_to_rgb8, planes, px, w, h, stride, ch); }
