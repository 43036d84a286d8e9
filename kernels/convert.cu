// convert.cu — 8-bit interleaved pixels ↔ float planes (the engine's 0..255 layout).
//
// rgb8_to_planes effectively computes planes[c, y, x] = pixels[y·stride + x·channels + c] for c < 3
// (channels 3 = RGB, 4 = RGBA with alpha ignored). planes_to_rgb8 writes round(clamp(planes, 0, 255)) back, and
// 255 for alpha. Layout: planes [3, H, W]; pixels rows stride bytes apart.
// Launch: block NS_BLOCK; grid ceil(W·H / NS_BLOCK). Each thread one pixel, bounds checked. Writes (=).
#include "common.cuh"

extern "C" __global__ void rgb8_to_planes(const unsigned char* pixels, float* planes, int width, int height, int stride, int channels)
{
    int p = blockIdx.x * NS_BLOCK + threadIdx.x;
    if (p >= width * height)
    {
        return;
    }

    const unsigned char* px = pixels + (ns_size)(p / width) * stride + (ns_size)(p % width) * channels;
    for (int c = 0; c < 3; c++)
    {
        planes[(ns_size)c * width * height + p] = (float)px[c];
    }
}

extern "C" __global__ void planes_to_rgb8(const float* planes, unsigned char* pixels, int width, int height, int stride, int channels)
{
    int p = blockIdx.x * NS_BLOCK + threadIdx.x;
    if (p >= width * height)
    {
        return;
    }

    unsigned char* px = pixels + (ns_size)(p / width) * stride + (ns_size)(p % width) * channels;
    for (int c = 0; c < 3; c++)
    {
        float v = planes[(ns_size)c * width * height + p];
        v = v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v);
        px[c] = (unsigned char)NS_RINTF(v);
    }

    if (channels == 4)
    {
        px[3] = 255;
    }
}
