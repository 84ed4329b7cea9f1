// What differs between the LibTorch versions deepgen builds against, in one place: Debian 12's
// libtorch-dev 1.13.1 (CPU, C++17) and PyPI's torch 2.x (checked with 2.15.0; CUDA, C++20). The rest of
// the code calls these and never tests TORCH_VERSION itself (cmake/deepgenTorch.cmake holds what CMake
// sees of the difference).
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <variant>

#define DEEPGEN_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace deepgen::torch_compat {

// The variants of the module options (a convolution's padding and padding_mode): c10::variant up to
// LibTorch 2.0, std::variant since 2.1, which dropped c10::get_if and c10::get.
template <class T, class Variant>
const T* get_if(const Variant* variant) {
#if DEEPGEN_TORCH_AT_LEAST(2, 1)
  return std::get_if<T>(variant);
#else
  return c10::get_if<T>(variant);
#endif
}

template <class T, class Variant>
const T& get(const Variant& variant) {
#if DEEPGEN_TORCH_AT_LEAST(2, 1)
  return std::get<T>(variant);
#else
  return c10::get<T>(variant);
#endif
}

// Autocast: LibTorch 2.4 replaced the per-device calls (set_cpu_enabled, get_autocast_gpu_dtype, ...)
// with ones that take the device type, and deprecated the old ones.
inline bool autocast_enabled(c10::DeviceType type) {
#if DEEPGEN_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(type);
#else
  return type == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

inline void set_autocast(c10::DeviceType type, bool on) {
#if DEEPGEN_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(type, on);
#else
  type == c10::DeviceType::CUDA ? at::autocast::set_enabled(on) : at::autocast::set_cpu_enabled(on);
#endif
}

inline c10::ScalarType autocast_dtype(c10::DeviceType type) {
#if DEEPGEN_TORCH_AT_LEAST(2, 4)
  return at::autocast::get_autocast_dtype(type);
#else
  return type == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}

inline void set_autocast_dtype(c10::DeviceType type, c10::ScalarType dtype) {
#if DEEPGEN_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_dtype(type, dtype);
#else
  type == c10::DeviceType::CUDA ? at::autocast::set_autocast_gpu_dtype(dtype) : at::autocast::set_autocast_cpu_dtype(dtype);
#endif
}

// A convolution (stride 1, `padding` on every side) followed by ReLU when `relu`, as one oneDNN primitive
// with ReLU as its post-op: ATen's mkldnn::_convolution_pointwise, the kernel torch.compile's Inductor emits
// for conv + ReLU on the CPU. LibTorch registers it from 2.0 on, in the dispatcher only (no C++ function),
// so it is looked up by name and called boxed; on LibTorch 1.x, off the CPU, without MKL-DNN or for other
// than float32 it is conv2d then relu_. Expects channels-last activations on the CPU (the layout it is
// fast in); returns the layout oneDNN chose (channels-last for channels-last input).
bool fused_conv_relu_available();
torch::Tensor conv2d_relu(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, int64_t padding,
                          bool relu);

}  // namespace deepgen::torch_compat
