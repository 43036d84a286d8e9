// emulated_driver.cpp — the CUDA driver API and cuBLAS functions that NeuralStyle.Cuda binds, implemented on the
// host, so the C# CUDA layer (CudaDevice, KernelModules, CudaKernels, StyleProducts) runs end to end without a GPU:
// NVRTC's real CUBIN is loaded, a launch unpacks its argument pointers exactly as the driver would and runs the
// named kernel of kernels/*.cu through host_cuda.hpp.
//
// It is stricter than a real driver where that catches our mistakes early, and more lenient only where noted (frees
// after a fault; cuBLAS without a current context, which the CUDA runtime would make current itself):
// - every call that needs a context fails with CUDA_ERROR_INVALID_CONTEXT unless the primary context is current on
//   the calling thread;
// - device memory is an arena of its own, apart from the process's heap, so a kernel writing out of bounds fails a
//   test instead of corrupting the test host; each allocation sits between guard pages, and addresses are never
//   reused, so a freed buffer stays invalid. New allocations and the guards hold 0xFF bytes (a NaN as float and
//   double), so reading uninitialised memory or past an end poisons results; a launch that writes a guard, a copy
//   outside a live allocation, or a pointer argument outside every allocation fails the call
//   (CUDA_ERROR_ILLEGAL_ADDRESS / CUDA_ERROR_INVALID_VALUE), and an illegal address is sticky, as on a GPU;
// - a module must be an ELF image for the CUDA machine built for this device's architecture (sm_90), and a kernel is
//   found only if the image defines it.
// Work runs synchronously when issued; events record host time. One lock serialises every call.
//
// Build: g++ -std=c++20 -O1 -pthread -shared -fPIC -fvisibility=hidden -o libns_emulated_cuda.so emulated_driver.cpp
#define NS_HOST_EMULATION
#include "../gram.cu"
#include "../style_grad.cu"
#include "../content_grad.cu"
#include "../reduce.cu"
#include "../tv.cu"
#include "../adam.cu"
#include "../convert.cu"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <sys/mman.h>
#include <vector>

#define NS_EXPORT extern "C" __attribute__((visibility("default")))

typedef int CUresult;
enum : CUresult
{
    CUDA_SUCCESS = 0,
    CUDA_ERROR_INVALID_VALUE = 1,
    CUDA_ERROR_OUT_OF_MEMORY = 2,
    CUDA_ERROR_NOT_INITIALIZED = 3,
    CUDA_ERROR_INVALID_DEVICE = 101,
    CUDA_ERROR_INVALID_IMAGE = 200,
    CUDA_ERROR_INVALID_CONTEXT = 201,
    CUDA_ERROR_NO_BINARY_FOR_GPU = 209,
    CUDA_ERROR_INVALID_HANDLE = 400,
    CUDA_ERROR_NOT_FOUND = 500,
    CUDA_ERROR_ILLEGAL_ADDRESS = 700,
    CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES = 701,
};

namespace
{
constexpr int ComputeMajor = 9, ComputeMinor = 0;
// What the device reports and allocations may total: 1 GiB, or NS_EMULATED_DEVICE_MB megabytes.
const uint64_t DeviceMemory = std::getenv("NS_EMULATED_DEVICE_MB") ? std::strtoull(std::getenv("NS_EMULATED_DEVICE_MB"), nullptr, 10) << 20 : 1ull << 30;
constexpr uint64_t ArenaBytes = 16ull << 30;   // address space for every allocation of the process's lifetime
constexpr size_t Guard = 4096;                 // a page before and after each allocation (and cudaMalloc's 256-byte alignment)
constexpr unsigned char Poison = 0xFF;

struct Allocation
{
    unsigned char* raw; // the leading guard
    size_t bytes;
    size_t span;        // leading guard, the bytes rounded up to a page, trailing guard
};

unsigned char* arena = nullptr;
uint64_t arena_used = 0;

struct Event
{
    bool recorded = false;
    std::chrono::steady_clock::time_point at;
};

struct Module
{
    std::vector<unsigned char> image;
};

struct Function
{
    const char* name;
    void (*launch)(dim3 grid, dim3 block, void** arguments);
};

std::mutex api;
bool initialised = false;
int primary_retains = 0;
int sticky_error = CUDA_SUCCESS;
thread_local bool context_current = false;
std::map<uint64_t, Allocation> allocations; // by device address (the first byte after the leading guard)
uint64_t allocated_bytes = 0;
std::set<void*> streams, events, modules, blas_handles;
char primary_context_object; // its address is the CUcontext
// Copies since the process began: [0] host to device, [1] device to host, [2] within the device; calls and bytes.
int64_t transfer_calls[3] = {0, 0, 0}, transfer_bytes[3] = {0, 0, 0};
// Times the host waited for the device (stream and event synchronisations) since the process began.
int64_t host_waits = 0;

// A pointer argument or copy range must lie in one live allocation.
const Allocation* find_allocation(uint64_t address, uint64_t bytes)
{
    auto it = allocations.upper_bound(address);
    if (it == allocations.begin())
        return nullptr;
    --it;
    uint64_t start = it->first;
    return address >= start && address - start + bytes <= it->second.bytes ? &it->second : nullptr;
}

// Everything of a live allocation outside its bytes still holds the poison.
bool guards_intact()
{
    for (const auto& [address, a] : allocations)
    {
        for (size_t i = 0; i < Guard; i++)
            if (a.raw[i] != Poison)
                return false;
        for (size_t i = Guard + a.bytes; i < a.span; i++)
            if (a.raw[i] != Poison)
                return false;
    }

    return true;
}

struct IllegalAddress
{
};

template <typename T>
T* device_pointer(void** arguments, size_t i)
{
    uint64_t address;
    std::memcpy(&address, arguments[i], sizeof address);
    if (find_allocation(address, 1) == nullptr)
        throw IllegalAddress{};
    return reinterpret_cast<T*>(address);
}

// Argument i of a launch, read as the kernel declares it: a pointer must point into a live allocation.
template <typename T>
T argument(void** arguments, size_t i)
{
    if constexpr (std::is_pointer_v<T>)
        return device_pointer<std::remove_pointer_t<T>>(arguments, i);
    else
    {
        T v;
        std::memcpy(&v, arguments[i], sizeof v);
        return v;
    }
}

// Runs Kernel with cuLaunchKernel's argument pointers unpacked by the types of its own parameters, so that no
// signature is written twice: an argument of another size or order on the C# side reads what it would on a GPU.
template <auto Kernel>
void launch(dim3 grid, dim3 block, void** arguments)
{
    [&]<typename... Args>(void (*kernel)(Args...)) {
        [&]<size_t... I>(std::index_sequence<I...>) { ns_emulate(grid, block, kernel, argument<Args>(arguments, I)...); }(std::index_sequence_for<Args...>{});
    }(Kernel);
}

const Function functions[] = {
    {"gram_forward", launch<gram_forward>},
    {"gram_sum_slices", launch<gram_sum_slices>},
    {"style_grad_backward", launch<style_grad_backward>},
    {"content_grad_backward", launch<content_grad_backward>},
    {"squared_difference_partials", launch<squared_difference_partials>},
    {"sum_partials", launch<sum_partials>},
    {"tv_forward_backward", launch<tv_forward_backward>},
    {"adam_prepare", launch<adam_prepare>},
    {"adam_update", launch<adam_update>},
    {"rgb8_to_planes", launch<rgb8_to_planes>},
    {"planes_to_rgb8", launch<planes_to_rgb8>},
};

// Whether a CUBIN defines the kernel: NVRTC puts each kernel's code in a section named .text.NAME.
bool image_defines(const Module& m, const char* name)
{
    std::string section = std::string(".text.") + name;
    const unsigned char* end = m.image.data() + m.image.size();
    return std::search(m.image.data(), end, section.c_str(), section.c_str() + section.size() + 1) != end;
}

// ELF64 header fields of a CUBIN: e_machine 190 (CUDA); e_flags carries the SM number (its byte moved in CUDA 12.8).
CUresult check_image(const unsigned char* image, std::string& problem)
{
    if (std::memcmp(image, "\x7f" "ELF", 4) != 0 || image[4] != 2)
    {
        problem = "emulated driver: the image is not an ELF64 CUBIN (this driver does not JIT PTX)";
        return CUDA_ERROR_INVALID_IMAGE;
    }

    uint16_t machine;
    uint32_t flags;
    std::memcpy(&machine, image + 18, sizeof machine);
    std::memcpy(&flags, image + 48, sizeof flags);
    if (machine != 190)
    {
        problem = "emulated driver: the ELF image is not for the CUDA machine (e_machine " + std::to_string(machine) + ")";
        return CUDA_ERROR_INVALID_IMAGE;
    }

    constexpr unsigned sm = ComputeMajor * 10 + ComputeMinor;
    if ((flags & 0xff) != sm && ((flags >> 8) & 0xff) != sm)
    {
        problem = "emulated driver: the CUBIN is not for sm_90 (e_flags " + std::to_string(flags) + ")";
        return CUDA_ERROR_NO_BINARY_FOR_GPU;
    }

    return CUDA_SUCCESS;
}

// Reads the image size from the ELF header: the section header table ends the file.
size_t image_size(const unsigned char* image)
{
    uint64_t shoff;
    uint16_t shentsize, shnum;
    std::memcpy(&shoff, image + 40, sizeof shoff);
    std::memcpy(&shentsize, image + 58, sizeof shentsize);
    std::memcpy(&shnum, image + 60, sizeof shnum);
    return shoff + (size_t)shentsize * shnum;
}

// Initialised, with the primary context current on the calling thread.
CUresult in_context()
{
    if (!initialised)
        return CUDA_ERROR_NOT_INITIALIZED;
    return context_current && primary_retains > 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
}

// The preamble of calls that work on the device: in context, and no earlier fault.
CUresult ready()
{
    CUresult r = in_context();
    return r != CUDA_SUCCESS ? r : sticky_error;
}

bool valid_stream(void* stream) { return stream == nullptr || streams.count(stream) == 1; }

struct Stream
{
};

// Handles are owned objects whose addresses are also kept in the set of live handles of their kind.
template <typename T>
void* make_handle(std::set<void*>& live, T* object)
{
    live.insert(object);
    return object;
}

// Deletes a live handle; false when it is not one (already destroyed, or never made).
template <typename T>
bool drop_handle(std::set<void*>& live, void* handle)
{
    if (live.erase(handle) == 0)
        return false;
    delete static_cast<T*>(handle);
    return true;
}

// Fails the call unless [address, address + bytes) is in one live allocation.
CUresult check_range(uint64_t address, size_t bytes) { return find_allocation(address, bytes) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE; }

// The checks of a copy or set on a stream: in context and no fault, a live stream, the device range in one allocation.
CUresult check_transfer(void* stream, uint64_t device_address, size_t bytes)
{
    if (CUresult r = ready())
        return r;
    if (!valid_stream(stream))
        return CUDA_ERROR_INVALID_HANDLE;
    return check_range(device_address, bytes);
}

struct ErrorText
{
    CUresult code;
    const char* name;
    const char* text;
};

#define NS_ERROR(code, text) {code, #code, text}
const ErrorText errors[] = {
    NS_ERROR(CUDA_SUCCESS, "no error"),
    NS_ERROR(CUDA_ERROR_INVALID_VALUE, "invalid argument"),
    NS_ERROR(CUDA_ERROR_OUT_OF_MEMORY, "out of memory"),
    NS_ERROR(CUDA_ERROR_NOT_INITIALIZED, "initialization error"),
    NS_ERROR(CUDA_ERROR_INVALID_DEVICE, "invalid device ordinal"),
    NS_ERROR(CUDA_ERROR_INVALID_IMAGE, "device kernel image is invalid"),
    NS_ERROR(CUDA_ERROR_INVALID_CONTEXT, "invalid device context"),
    NS_ERROR(CUDA_ERROR_NO_BINARY_FOR_GPU, "no kernel image is available for execution on the device"),
    NS_ERROR(CUDA_ERROR_INVALID_HANDLE, "invalid resource handle"),
    NS_ERROR(CUDA_ERROR_NOT_FOUND, "named symbol not found"),
    NS_ERROR(CUDA_ERROR_ILLEGAL_ADDRESS, "an illegal memory access was encountered"),
    NS_ERROR(CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, "too many resources requested for launch"),
};
#undef NS_ERROR

const ErrorText* find_error(CUresult e)
{
    for (const ErrorText& t : errors)
        if (t.code == e)
            return &t;
    return nullptr;
}
} // namespace

// ---- Driver API ----

NS_EXPORT CUresult cuGetErrorName(CUresult e, const char** name)
{
    const ErrorText* t = find_error(e);
    *name = t ? t->name : nullptr;
    return t ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

NS_EXPORT CUresult cuGetErrorString(CUresult e, const char** text)
{
    const ErrorText* t = find_error(e);
    *text = t ? t->text : nullptr;
    return t ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

NS_EXPORT CUresult cuInit(unsigned flags)
{
    std::lock_guard lock(api);
    if (flags != 0)
        return CUDA_ERROR_INVALID_VALUE;
    initialised = true;
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuDriverGetVersion(int* version)
{
    *version = 12040;
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuDeviceGetCount(int* count)
{
    std::lock_guard lock(api);
    if (!initialised)
        return CUDA_ERROR_NOT_INITIALIZED;
    *count = 1;
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuDeviceGet(int* device, int ordinal)
{
    std::lock_guard lock(api);
    if (!initialised)
        return CUDA_ERROR_NOT_INITIALIZED;
    if (ordinal != 0)
        return CUDA_ERROR_INVALID_DEVICE;
    *device = 0;
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuDeviceGetName(char* name, int length, int device)
{
    if (device != 0)
        return CUDA_ERROR_INVALID_DEVICE;
    std::snprintf(name, (size_t)length, "%s", "NeuralStyle host emulation");
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuDeviceGetAttribute(int* value, int attribute, int device)
{
    if (device != 0)
        return CUDA_ERROR_INVALID_DEVICE;
    switch (attribute)
    {
    case 16: *value = 1; return CUDA_SUCCESS; // multiprocessors
    case 75: *value = ComputeMajor; return CUDA_SUCCESS;
    case 76: *value = ComputeMinor; return CUDA_SUCCESS;
    default: return CUDA_ERROR_INVALID_VALUE; // one we have not emulated: say so rather than invent a value
    }
}

NS_EXPORT CUresult cuDeviceTotalMem_v2(size_t* bytes, int device)
{
    if (device != 0)
        return CUDA_ERROR_INVALID_DEVICE;
    *bytes = DeviceMemory;
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuDevicePrimaryCtxRetain(void** context, int device)
{
    std::lock_guard lock(api);
    if (!initialised)
        return CUDA_ERROR_NOT_INITIALIZED;
    if (device != 0)
        return CUDA_ERROR_INVALID_DEVICE;
    primary_retains++;
    *context = &primary_context_object;
    return CUDA_SUCCESS;
}

// The last release destroys the context, which clears a fault. Allocations left stay, so that tests see the leak.
NS_EXPORT CUresult cuDevicePrimaryCtxRelease_v2(int device)
{
    std::lock_guard lock(api);
    if (device != 0 || primary_retains == 0)
        return CUDA_ERROR_INVALID_DEVICE;
    if (--primary_retains == 0)
        sticky_error = CUDA_SUCCESS;
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuCtxSetCurrent(void* context)
{
    std::lock_guard lock(api);
    if (context != nullptr && (context != &primary_context_object || primary_retains == 0))
        return CUDA_ERROR_INVALID_CONTEXT;
    context_current = context != nullptr;
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuMemAlloc_v2(uint64_t* pointer, size_t bytes)
{
    std::lock_guard lock(api);
    if (CUresult r = ready())
        return r;
    if (bytes == 0)
        return CUDA_ERROR_INVALID_VALUE;
    if (bytes > DeviceMemory - allocated_bytes)
        return CUDA_ERROR_OUT_OF_MEMORY;
    if (arena == nullptr)
    {
        void* reserved = mmap(nullptr, ArenaBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (reserved == MAP_FAILED)
            return CUDA_ERROR_OUT_OF_MEMORY;
        arena = static_cast<unsigned char*>(reserved);
    }

    size_t span = Guard + ((bytes + Guard - 1) / Guard * Guard) + Guard;
    if (span > ArenaBytes - arena_used)
        return CUDA_ERROR_OUT_OF_MEMORY;
    unsigned char* raw = arena + arena_used;
    arena_used += span;
    std::memset(raw, Poison, span);
    *pointer = reinterpret_cast<uint64_t>(raw + Guard);
    allocations[*pointer] = Allocation{raw, bytes, span};
    allocated_bytes += bytes;
    return CUDA_SUCCESS;
}

// Frees work after a fault too, so that owners can still be disposed (a driver reclaims them with the context).
NS_EXPORT CUresult cuMemFree_v2(uint64_t pointer)
{
    std::lock_guard lock(api);
    if (CUresult r = in_context())
        return r;
    auto it = allocations.find(pointer);
    if (it == allocations.end())
        return CUDA_ERROR_INVALID_VALUE;
    allocated_bytes -= it->second.bytes;
    madvise(it->second.raw, it->second.span, MADV_DONTNEED); // the pages go back; the addresses are not reused
    allocations.erase(it);
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuMemGetInfo_v2(size_t* free, size_t* total)
{
    std::lock_guard lock(api);
    if (CUresult r = ready())
        return r;
    *free = DeviceMemory - allocated_bytes;
    *total = DeviceMemory;
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuMemcpyHtoDAsync_v2(uint64_t destination, const void* source, size_t bytes, void* stream)
{
    std::lock_guard lock(api);
    if (CUresult r = check_transfer(stream, destination, bytes))
        return r;
    std::memcpy(reinterpret_cast<void*>(destination), source, bytes);
    transfer_calls[0]++;
    transfer_bytes[0] += (int64_t)bytes;
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuMemcpyDtoHAsync_v2(void* destination, uint64_t source, size_t bytes, void* stream)
{
    std::lock_guard lock(api);
    if (CUresult r = check_transfer(stream, source, bytes))
        return r;
    std::memcpy(destination, reinterpret_cast<const void*>(source), bytes);
    transfer_calls[1]++;
    transfer_bytes[1] += (int64_t)bytes;
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuMemcpyDtoDAsync_v2(uint64_t destination, uint64_t source, size_t bytes, void* stream)
{
    std::lock_guard lock(api);
    if (CUresult r = check_transfer(stream, destination, bytes))
        return r;
    if (CUresult r = check_range(source, bytes))
        return r;
    std::memmove(reinterpret_cast<void*>(destination), reinterpret_cast<const void*>(source), bytes);
    transfer_calls[2]++;
    transfer_bytes[2] += (int64_t)bytes;
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuMemsetD8Async(uint64_t destination, unsigned char value, size_t bytes, void* stream)
{
    std::lock_guard lock(api);
    if (CUresult r = check_transfer(stream, destination, bytes))
        return r;
    std::memset(reinterpret_cast<void*>(destination), value, bytes);
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuMemsetD32Async(uint64_t destination, unsigned value, size_t words, void* stream)
{
    std::lock_guard lock(api);
    if (destination % sizeof(unsigned) != 0)
        return CUDA_ERROR_INVALID_VALUE; // the driver requires 4-byte alignment
    if (CUresult r = check_transfer(stream, destination, words * sizeof(unsigned)))
        return r;
    std::fill_n(reinterpret_cast<unsigned*>(destination), words, value);
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuStreamCreate(void** stream, unsigned flags)
{
    std::lock_guard lock(api);
    if (CUresult r = ready())
        return r;
    if (flags > 1)
        return CUDA_ERROR_INVALID_VALUE;
    *stream = make_handle(streams, new Stream);
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuStreamDestroy_v2(void* stream)
{
    std::lock_guard lock(api);
    return drop_handle<Stream>(streams, stream) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

NS_EXPORT CUresult cuStreamSynchronize(void* stream)
{
    std::lock_guard lock(api);
    if (CUresult r = ready())
        return r;
    if (!valid_stream(stream))
        return CUDA_ERROR_INVALID_HANDLE;
    host_waits++;
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuModuleLoadDataEx(void** module, const void* image, unsigned count, const int* options, void** values)
{
    std::lock_guard lock(api);
    if (CUresult r = ready())
        return r;
    char* log = nullptr;
    size_t log_size = 0;
    for (unsigned i = 0; i < count; i++)
    {
        if (options[i] == 5) // CU_JIT_ERROR_LOG_BUFFER
            log = static_cast<char*>(values[i]);
        else if (options[i] == 6) // CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES: the value itself, not a pointer to it
            log_size = reinterpret_cast<size_t>(values[i]);
    }

    const auto* bytes = static_cast<const unsigned char*>(image);
    std::string problem;
    if (CUresult r = check_image(bytes, problem))
    {
        if (log != nullptr && log_size > 0)
            std::snprintf(log, log_size, "%s", problem.c_str());
        return r;
    }

    *module = make_handle(modules, new Module{std::vector<unsigned char>(bytes, bytes + image_size(bytes))});
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuModuleGetFunction(void** function, void* module, const char* name)
{
    std::lock_guard lock(api);
    if (CUresult r = ready())
        return r;
    if (modules.count(module) == 0)
        return CUDA_ERROR_INVALID_HANDLE;
    for (const Function& f : functions)
    {
        if (std::strcmp(f.name, name) == 0 && image_defines(*static_cast<Module*>(module), name))
        {
            *function = const_cast<Function*>(&f);
            return CUDA_SUCCESS;
        }
    }

    return CUDA_ERROR_NOT_FOUND;
}

NS_EXPORT CUresult cuModuleUnload(void* module)
{
    std::lock_guard lock(api);
    return drop_handle<Module>(modules, module) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

NS_EXPORT CUresult cuLaunchKernel(void* function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shared,
                                  void* stream, void** arguments, void** extra)
{
    std::lock_guard lock(api);
    if (CUresult r = ready())
        return r;
    if (!valid_stream(stream))
        return CUDA_ERROR_INVALID_HANDLE;
    bool known = false;
    for (const Function& f : functions)
        known |= &f == function;
    if (!known)
        return CUDA_ERROR_INVALID_HANDLE;
    if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0 || gy > 65535 || gz > 65535 || bz > 64 || shared != 0 || extra != nullptr || arguments == nullptr)
        return CUDA_ERROR_INVALID_VALUE;
    if ((uint64_t)bx * by * bz > 1024)
        return CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES;
    try
    {
        static_cast<Function*>(function)->launch(dim3{gx, gy, gz}, dim3{bx, by, bz}, arguments);
    }
    catch (const IllegalAddress&)
    {
        sticky_error = CUDA_ERROR_ILLEGAL_ADDRESS;
    }

    if (!guards_intact())
        sticky_error = CUDA_ERROR_ILLEGAL_ADDRESS;
    return sticky_error;
}

NS_EXPORT CUresult cuEventCreate(void** event, unsigned flags)
{
    std::lock_guard lock(api);
    if (CUresult r = ready())
        return r;
    if (flags != 0)
        return CUDA_ERROR_INVALID_VALUE;
    *event = make_handle(events, new Event);
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuEventRecord(void* event, void* stream)
{
    std::lock_guard lock(api);
    if (CUresult r = ready())
        return r;
    if (events.count(event) == 0 || !valid_stream(stream))
        return CUDA_ERROR_INVALID_HANDLE;
    *static_cast<Event*>(event) = Event{true, std::chrono::steady_clock::now()};
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuEventSynchronize(void* event)
{
    std::lock_guard lock(api);
    if (CUresult r = ready())
        return r;
    if (events.count(event) == 0)
        return CUDA_ERROR_INVALID_HANDLE;
    host_waits++;
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuEventElapsedTime_v2(float* ms, void* start, void* end)
{
    std::lock_guard lock(api);
    if (CUresult r = ready())
        return r;
    if (events.count(start) == 0 || events.count(end) == 0)
        return CUDA_ERROR_INVALID_HANDLE;
    auto *s = static_cast<Event*>(start), *e = static_cast<Event*>(end);
    if (!s->recorded || !e->recorded)
        return CUDA_ERROR_INVALID_HANDLE; // as the driver answers for an event never recorded
    *ms = std::chrono::duration<float, std::milli>(e->at - s->at).count();
    return CUDA_SUCCESS;
}

NS_EXPORT CUresult cuEventDestroy_v2(void* event)
{
    std::lock_guard lock(api);
    return drop_handle<Event>(events, event) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

// ---- What the tests read ----

// Device allocations alive now: after every owner is disposed, zero.
NS_EXPORT int ns_emulated_live_allocations()
{
    std::lock_guard lock(api);
    return (int)allocations.size();
}

// Streams, events, modules and cuBLAS handles alive now.
NS_EXPORT int ns_emulated_live_handles()
{
    std::lock_guard lock(api);
    return (int)(streams.size() + events.size() + modules.size() + blas_handles.size());
}

NS_EXPORT int ns_emulated_primary_context_retains()
{
    std::lock_guard lock(api);
    return primary_retains;
}

// Stream and event synchronisations so far.
NS_EXPORT int64_t ns_emulated_host_waits()
{
    std::lock_guard lock(api);
    return host_waits;
}

// Copies so far: calls and bytes, direction 0 host to device, 1 device to host, 2 within the device.
NS_EXPORT void ns_emulated_transfers(int direction, int64_t* calls, int64_t* bytes)
{
    std::lock_guard lock(api);
    *calls = transfer_calls[direction];
    *bytes = transfer_bytes[direction];
}

// ---- cuBLAS (column-major, host pointer mode; the checks of cublas_api.h's documentation) ----

namespace
{
constexpr int CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_NOT_INITIALIZED = 1, CUBLAS_STATUS_INVALID_VALUE = 7, CUBLAS_STATUS_EXECUTION_FAILED = 13;

struct BlasHandle
{
    void* stream = nullptr;
    int math_mode = 0;
};

// A column-major rows×cols matrix with leading dimension ld at address must lie in one allocation.
bool matrix_fits(uint64_t address, long rows, long cols, long ld)
{
    return rows == 0 || cols == 0 || find_allocation(address, (uint64_t)(((cols - 1) * ld) + rows) * sizeof(float)) != nullptr;
}

float& at(uint64_t matrix, long ld, long row, long col) { return reinterpret_cast<float*>(matrix)[(col * ld) + row]; }

// Element (row, col) of op(X): X itself, or its transpose.
double op_at(uint64_t matrix, long ld, bool transposed, long row, long col) { return transposed ? at(matrix, ld, col, row) : at(matrix, ld, row, col); }

// C(row, col) = alpha·sum + beta·C(row, col); beta = 0 does not read C (it may hold NaN), as BLAS specifies.
void store(uint64_t c, long ldc, long row, long col, float alpha, double sum, float beta)
{
    float& out = at(c, ldc, row, col);
    out = (float)(alpha * sum + (beta == 0 ? 0.0 : beta * (double)out));
}

// No current-context check: cuBLAS goes through the CUDA runtime, which makes the primary context current itself.
int blas_ready(void* handle)
{
    if (blas_handles.count(handle) == 0)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (sticky_error != CUDA_SUCCESS || !valid_stream(static_cast<BlasHandle*>(handle)->stream))
        return CUBLAS_STATUS_EXECUTION_FAILED;
    return CUBLAS_STATUS_SUCCESS;
}
} // namespace

NS_EXPORT int cublasCreate_v2(void** handle)
{
    std::lock_guard lock(api);
    if (!initialised || sticky_error != CUDA_SUCCESS)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    *handle = make_handle(blas_handles, new BlasHandle);
    return CUBLAS_STATUS_SUCCESS;
}

NS_EXPORT int cublasDestroy_v2(void* handle)
{
    std::lock_guard lock(api);
    return drop_handle<BlasHandle>(blas_handles, handle) ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_NOT_INITIALIZED;
}

NS_EXPORT int cublasSetStream_v2(void* handle, void* stream)
{
    std::lock_guard lock(api);
    if (blas_handles.count(handle) == 0)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!valid_stream(stream))
        return CUBLAS_STATUS_INVALID_VALUE;
    static_cast<BlasHandle*>(handle)->stream = stream;
    return CUBLAS_STATUS_SUCCESS;
}

NS_EXPORT int cublasSetMathMode(void* handle, int mode)
{
    std::lock_guard lock(api);
    if (blas_handles.count(handle) == 0)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (mode != 0 && mode != 2 && mode != 3)
        return CUBLAS_STATUS_INVALID_VALUE;
    static_cast<BlasHandle*>(handle)->math_mode = mode;
    return CUBLAS_STATUS_SUCCESS;
}

NS_EXPORT int cublasGetVersion_v2(void* handle, int* version)
{
    std::lock_guard lock(api);
    if (blas_handles.count(handle) == 0)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    *version = 120400;
    return CUBLAS_STATUS_SUCCESS;
}

NS_EXPORT const char* cublasGetStatusName(int status)
{
    switch (status)
    {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    default: return "CUBLAS_STATUS_UNKNOWN";
    }
}

// C[i] = alpha·op(A[i])·op(B[i]) + beta·C[i]; op(A) is m×k, op(B) k×n, C m×n. beta = 0 does not read C.
NS_EXPORT int cublasSgemmStridedBatched(void* handle, int transa, int transb, int m, int n, int k, const float* alpha, uint64_t a, int lda,
                                        long long stride_a, uint64_t b, int ldb, long long stride_b, const float* beta, uint64_t c, int ldc,
                                        long long stride_c, int batch)
{
    std::lock_guard lock(api);
    if (int s = blas_ready(handle))
        return s;
    bool ta = transa == 1, tb = transb == 1;
    if ((transa != 0 && !ta) || (transb != 0 && !tb) || m < 0 || n < 0 || k < 0 || batch < 0 || lda < std::max(1, ta ? k : m) ||
        ldb < std::max(1, tb ? n : k) || ldc < std::max(1, m))
        return CUBLAS_STATUS_INVALID_VALUE;
    for (long i = 0; i < batch; i++)
    {
        uint64_t ai = a + (uint64_t)(i * stride_a * 4), bi = b + (uint64_t)(i * stride_b * 4), ci = c + (uint64_t)(i * stride_c * 4);
        if (!matrix_fits(ai, ta ? k : m, ta ? m : k, lda) || !matrix_fits(bi, tb ? n : k, tb ? k : n, ldb) || !matrix_fits(ci, m, n, ldc))
            return CUBLAS_STATUS_EXECUTION_FAILED;
        for (long col = 0; col < n; col++)
            for (long row = 0; row < m; row++)
            {
                double sum = 0;
                for (long p = 0; p < k; p++)
                    sum += op_at(ai, lda, ta, row, p) * op_at(bi, ldb, tb, p, col);
                store(ci, ldc, row, col, *alpha, sum, *beta);
            }
    }

    return CUBLAS_STATUS_SUCCESS;
}

// C = alpha·op(A)·op(A)ᵀ + beta·C on the uplo triangle only; op(A) is n×k (trans N: A n×k, T: A k×n).
NS_EXPORT int cublasSsyrk_v2(void* handle, int uplo, int trans, int n, int k, const float* alpha, uint64_t a, int lda, const float* beta, uint64_t c, int ldc)
{
    std::lock_guard lock(api);
    if (int s = blas_ready(handle))
        return s;
    bool t = trans == 1;
    if ((uplo != 0 && uplo != 1) || (trans != 0 && !t) || n < 0 || k < 0 || lda < std::max(1, t ? k : n) || ldc < std::max(1, n))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (!matrix_fits(a, t ? k : n, t ? n : k, lda) || !matrix_fits(c, n, n, ldc))
        return CUBLAS_STATUS_EXECUTION_FAILED;
    for (long col = 0; col < n; col++)
        for (long row = 0; row < n; row++)
        {
            if (uplo == 0 ? row < col : row > col) // lower (0) keeps row ≥ col
                continue;
            double sum = 0;
            for (long p = 0; p < k; p++)
                sum += op_at(a, lda, t, row, p) * op_at(a, lda, t, col, p);
            store(c, ldc, row, col, *alpha, sum, *beta);
        }

    return CUBLAS_STATUS_SUCCESS;
}

// y = alpha·x + y over n elements with strides incx, incy (positive here).
NS_EXPORT int cublasSaxpy_v2(void* handle, int n, const float* alpha, uint64_t x, int incx, uint64_t y, int incy)
{
    std::lock_guard lock(api);
    if (int s = blas_ready(handle))
        return s;
    if (n <= 0)
        return CUBLAS_STATUS_SUCCESS;
    if (incx <= 0 || incy <= 0)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (!find_allocation(x, ((uint64_t)(n - 1) * incx + 1) * 4) || !find_allocation(y, ((uint64_t)(n - 1) * incy + 1) * 4))
        return CUBLAS_STATUS_EXECUTION_FAILED;
    for (long i = 0; i < n; i++)
        reinterpret_cast<float*>(y)[i * incy] += *alpha * reinterpret_cast<const float*>(x)[i * incx];
    return CUBLAS_STATUS_SUCCESS;
}
