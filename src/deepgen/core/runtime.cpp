#include "deepgen/core/runtime.h"

#include <dlfcn.h>
#include <torch/version.h>

#include <algorithm>
#include <thread>

#include "deepgen/core/error.h"

namespace deepgen {

namespace {
// OpenBLAS is loaded by LibTorch (through libblas.so.3), not linked by us: find its setter at run time
// so the same binary works with any BLAS, and with none that exposes the call.
void set_blas_threads(int threads) {
  using SetThreads = void (*)(int);
  if (auto* set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set(threads);
  }
}
}  // namespace

ThreadConfig configure_threads(int total, bool conv_heavy) {
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  check(total >= 0, "--threads: expected 0 (all cores) or a positive count, found ", total);
  if (total == 0) total = cores;
  ThreadConfig config;
  if (conv_heavy) {
    config.aten = total;
    config.blas = 1;
  } else {
    config.aten = 1;
    config.blas = total;
  }
  torch::set_num_threads(config.aten);
  set_blas_threads(config.blas);
  return config;
}

torch::Device resolve_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda") {
    check(torch::cuda::is_available(),
          "--device cuda: no CUDA device is available to this LibTorch build (", torch_version(),
          "); use --device cpu or auto");
    return torch::kCUDA;
  }
  if (name == "auto") return torch::cuda::is_available() ? torch::kCUDA : torch::kCPU;
  fail("--device: expected auto, cpu or cuda, found '", name, "'");
}

void seed_everything(uint64_t seed) {
  torch::manual_seed(seed);
  if (torch::cuda::is_available()) torch::cuda::manual_seed_all(seed);
}

std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

}  // namespace deepgen
