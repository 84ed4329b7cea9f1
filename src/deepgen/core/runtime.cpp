#include "deepgen/core/runtime.h"

#include <fstream>
#include <thread>

#include <ATen/detail/CUDAHooksInterface.h>
#include <dlfcn.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <torch/version.h>

#include <algorithm>
#include <limits>
#include <thread>

#include "deepgen/core/error.h"
#include "deepgen/core/torch_compat.h"

namespace deepgen {

namespace {
// OpenBLAS is loaded by Debian's LibTorch (through libblas.so.3), not linked by us: find its setter at
// run time so the same binary works with any BLAS, and with none that exposes the call.
using SetThreads = void (*)(int);
SetThreads openblas_setter() {
  return reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
}
}  // namespace

bool blas_has_own_threads() { return openblas_setter() != nullptr; }

ThreadConfig configure_threads(int total, bool conv_heavy) {
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  check(total >= 0, "--threads: expected 0 (all cores) or a positive count, found ", total);
  if (total == 0) total = cores;
  const SetThreads set_blas_threads = openblas_setter();
  ThreadConfig config;
  if (conv_heavy || set_blas_threads == nullptr) {
    config.aten = total;
    config.blas = 1;
  } else {
    config.aten = 1;
    config.blas = total;
  }
  torch::set_num_threads(config.aten);
  if (set_blas_threads != nullptr) set_blas_threads(config.blas);
  return config;
}

bool keep_freed_memory(size_t bytes) {
#if defined(__GLIBC__)
  const int value = int(std::min<size_t>(bytes, size_t(std::numeric_limits<int>::max())));
  // Setting either turns off glibc's adaptive thresholds, so both are set.
  return mallopt(M_MMAP_THRESHOLD, value) == 1 && mallopt(M_TRIM_THRESHOLD, value) == 1;
#else
  (void)bytes;
  return false;
#endif
}

torch::Device resolve_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda") {
    check(torch::cuda::is_available(),
          "--device cuda: no CUDA device is available to this LibTorch build (", torch_version(),
          torch_cuda_runtime().empty() ? ", without CUDA" : ", CUDA " + torch_cuda_runtime(), "); use --device cpu or auto");
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

std::string torch_cuda_runtime() {
  try {
    const long version = at::detail::getCUDAHooks().versionCUDART();  // CUDART_VERSION, e.g. 13020
    return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
  } catch (const c10::Error&) {
    return "";  // the hooks of a LibTorch without CUDA (or whose libtorch_cuda is not loaded) throw
  }
}

bool parse_precision(const std::string& name) {
  if (name == "fp32") return false;
  if (name == "bf16") return true;
  fail("--precision: expected fp32 or bf16, found '", name, "'");
}

AutocastScope::AutocastScope(torch::Device device, bool enabled) : enabled_(enabled), type_(device.type()) {
  if (!enabled_) return;
  check(type_ == c10::DeviceType::CPU || type_ == c10::DeviceType::CUDA,
        "--precision bf16: expected a CPU or CUDA device, found ", device);
  was_enabled_ = torch_compat::autocast_enabled(type_);
  old_dtype_ = torch_compat::autocast_dtype(type_);
  torch_compat::set_autocast(type_, true);
  torch_compat::set_autocast_dtype(type_, c10::ScalarType::BFloat16);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!enabled_) return;
  // The outermost scope drops the bf16 copies of the weights, which the next step must not reuse.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  torch_compat::set_autocast(type_, was_enabled_);
  torch_compat::set_autocast_dtype(type_, old_dtype_);
}

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) {
    if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
  }
}

ForkedRng::ForkedRng(uint64_t seed) {
  cpu_ = at::detail::getDefaultCPUGenerator().get_state();
  if (torch::cuda::is_available()) cuda_ = at::globalContext().defaultGenerator(at::Device(at::kCUDA, 0)).get_state();
  seed_everything(seed);
}

ForkedRng::~ForkedRng() {
  at::Generator cpu = at::detail::getDefaultCPUGenerator();  // a handle on the global one
  cpu.set_state(cpu_);
  if (cuda_.defined()) {
    at::Generator cuda = at::globalContext().defaultGenerator(at::Device(at::kCUDA, 0));
    cuda.set_state(cuda_);
  }
}

std::string machine_description() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  return model + ", " + std::to_string(std::thread::hardware_concurrency()) + " cores";
}

}  // namespace deepgen
