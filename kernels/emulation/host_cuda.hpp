// host_cuda.hpp — runs CUDA kernels on the CPU, for checking them without a GPU.
//
// Model: a grid runs one block at a time; every CUDA thread of the block is a host thread. __syncthreads is a
// barrier over the block's threads; __shared__ variables are statics (one block at a time, so one copy is one
// block's shared memory). Warp shuffles exchange values through a block-wide array between two barriers, so every
// thread of the block must reach them together — as the kernels' block and warp sums do. This is for correctness
// and geometry checks, not speed.
#pragma once

#include <barrier>
#include <cmath>
#include <cstddef>
#include <thread>
#include <vector>

struct dim3
{
    unsigned x = 1, y = 1, z = 1;
};

inline thread_local dim3 threadIdx;
inline thread_local dim3 blockIdx;
inline dim3 blockDim;
inline dim3 gridDim;
inline std::barrier<>* ns_emulated_block = nullptr;
inline float ns_emulated_lanes[1024];

#define __global__
#define __device__
#define __shared__ static
#define __forceinline__ inline

inline void __syncthreads() { ns_emulated_block->arrive_and_wait(); }

inline float __shfl_down_sync(unsigned, float value, unsigned delta)
{
    unsigned t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    unsigned threads = blockDim.x * blockDim.y * blockDim.z;
    ns_emulated_lanes[t] = value;
    __syncthreads();
    unsigned lane = t % 32;
    float result = lane + delta < 32 && t + delta < threads ? ns_emulated_lanes[t + delta] : value;
    __syncthreads();
    return result;
}

// Runs kernel<<<grid, block>>>(args...) on host threads and returns when every block is done.
template <typename Kernel, typename... Args>
void ns_emulate(dim3 grid, dim3 block, Kernel kernel, Args... args)
{
    gridDim = grid;
    blockDim = block;
    unsigned threads = block.x * block.y * block.z;
    for (unsigned bz = 0; bz < grid.z; bz++)
        for (unsigned by = 0; by < grid.y; by++)
            for (unsigned bx = 0; bx < grid.x; bx++)
            {
                std::barrier<> barrier(threads);
                ns_emulated_block = &barrier;
                std::vector<std::thread> workers;
                workers.reserve(threads);
                for (unsigned t = 0; t < threads; t++)
                {
                    workers.emplace_back([=] {
                        blockIdx = dim3{bx, by, bz};
                        threadIdx = dim3{t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
                        kernel(args...);
                        // A thread that returns early must still let the others pass their barriers.
                        ns_emulated_block->arrive_and_drop();
                    });
                }

                for (std::thread& w : workers)
                    w.join();
            }
}
