// Process-wide runtime choices: thread counts, device selection and seeding.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace deepgen {

struct ThreadConfig {
  int aten = 1;      // ATen intra-op threads (element-wise ops, convolutions)
  int blas = 1;      // OpenBLAS threads (matrix products); 1 where the BLAS runs on ATen's threads
};

// Splits `total` threads (0 = all cores) between ATen and OpenBLAS so that aten * blas <= total:
// both pools running at once on more threads than cores makes training ~3x slower. Matrix products
// dominate the dense models, so BLAS gets the threads and ATen runs one; ATen's OpenMP pool is used
// inside BLAS-free kernels (convolutions go through MKL-DNN/ATen) so `conv_heavy` flips the split.
// Without OpenBLAS (PyPI's LibTorch: MKL, inside libtorch_cpu, runs on ATen's OpenMP threads) there is
// one pool, and ATen gets the threads for every model.
ThreadConfig configure_threads(int total, bool conv_heavy);

// Whether the BLAS has threads of its own that configure_threads sets: true with Debian's LibTorch
// (OpenBLAS), false with PyPI's (MKL on ATen's threads).
bool blas_has_own_threads();

// Keeps large CPU tensors' memory in the process once freed instead of handing it back to the kernel.
// glibc's malloc serves blocks above a threshold (128 KiB at first, raised adaptively up to 32 MiB)
// with fresh mmap pages and returns freed memory at the top of the heap: a training step that
// allocates and frees the same activation buffers every batch then page-faults them in again each
// time (21% of a bf16 DnCNN training run's time in the kernel on a 2-core Xeon, against 2% for the
// same training in Python). This serves blocks below `bytes` from the heap and keeps up to `bytes` of
// free memory at its top, the idea of the jemalloc decay settings in PyTorch's CPU performance guide.
// Process-wide; the deepgen CLI calls it at start. Returns false where the C library has no such
// setting (not glibc).
bool keep_freed_memory(size_t bytes = size_t(1) << 30);

// "auto" -> CUDA when available, else CPU; "cpu"; "cuda" (an error when CUDA is missing).
torch::Device resolve_device(const std::string& name);

// Seeds LibTorch's global generators (CPU and, when present, CUDA).
void seed_everything(uint64_t seed);

// Like Python's `torch.random.fork_rng()`: inside the scope the global generators (CPU, and CUDA where
// present) are seeded with `seed`; on exit they continue where they were. Evaluation draws its noise
// inside one, so what it reports depends on its seed alone (the trainer's test line and `deepgen eval`
// agree) and the training that follows draws what it would have drawn without it.
class ForkedRng {
 public:
  explicit ForkedRng(uint64_t seed);
  ~ForkedRng();
  ForkedRng(const ForkedRng&) = delete;
  ForkedRng& operator=(const ForkedRng&) = delete;

 private:
  torch::Tensor cpu_, cuda_;
};

std::string torch_version();

// The CUDA runtime version this LibTorch was built with ("13.2"), read from libtorch_cuda's hooks; ""
// for a LibTorch without CUDA (Debian's). "" too when the linker dropped libtorch_cuda although the
// build has it (pytorch#42018; cmake/deepgenTorch.cmake): then torch::cuda::is_available() is false even
// on a GPU machine, so a test checks that it is not "" in a CUDA build.
std::string torch_cuda_runtime();

// "AMD EPYC 7B13, 2 cores": the CPU model (/proc/cpuinfo) and the cores this process can use.
std::string machine_description();

// --precision: "fp32" (false) or "bf16" (true); anything else is an error naming the option.
bool parse_precision(const std::string& name);

// Mixed precision for one scope, like Python's `with torch.autocast(device, torch.bfloat16)`: with
// `enabled`, the ops autocast lists (convolutions, matrix products) run in bfloat16 on `device` (AMX or
// AVX512-BF16 on recent Xeons, tensor cores on GPUs) and the rest stays float32, as do the weights and
// their gradients. Wrap the forward pass, not the backward. On exit the previous state comes back and,
// when the outermost scope ends, the cache of bf16 weight copies is cleared: without that (Python's
// context manager does it, LibTorch's C++ API does not) every later step would reuse the first step's
// weights. Disabled, it does nothing.
class AutocastScope {
 public:
  AutocastScope(torch::Device device, bool enabled);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
  c10::DeviceType type_;
  bool was_enabled_ = false;
  c10::ScalarType old_dtype_ = c10::ScalarType::Float;
};

// Stores the 4-D parameters (convolution weights) of `module` channels-last (NHWC), the layout bf16
// convolutions run fastest in (no reorder before each call); the parameters stay the same tensors.
void to_channels_last(torch::nn::Module& module);

}  // namespace deepgen
