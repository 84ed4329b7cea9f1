// Process-wide runtime choices: thread counts, device selection and seeding.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace deepgen {

struct ThreadConfig {
  int aten = 1;      // ATen intra-op threads (element-wise ops, convolutions)
  int blas = 1;      // OpenBLAS threads (matrix products)
};

// Splits `total` threads (0 = all cores) between ATen and OpenBLAS so that aten * blas <= total:
// both pools running at once on more threads than cores makes training ~3x slower. Matrix products
// dominate the dense models, so BLAS gets the threads and ATen runs one; ATen's OpenMP pool is used
// inside BLAS-free kernels (convolutions go through MKL-DNN/ATen) so `conv_heavy` flips the split.
ThreadConfig configure_threads(int total, bool conv_heavy);

// "auto" -> CUDA when available, else CPU; "cpu"; "cuda" (an error when CUDA is missing).
torch::Device resolve_device(const std::string& name);

// Seeds LibTorch's global generators (CPU and, when present, CUDA).
void seed_everything(uint64_t seed);

std::string torch_version();

}  // namespace deepgen
