#include "deepgen/core/torch_compat.h"

#include <ATen/core/dispatch/Dispatcher.h>

namespace deepgen::torch_compat {
namespace {
const c10::OperatorHandle* fused_conv_op() {
  static const auto handle = c10::Dispatcher::singleton().findSchema({"mkldnn::_convolution_pointwise", ""});
  return handle ? &*handle : nullptr;
}
}  // namespace

bool fused_conv_relu_available() { return fused_conv_op() != nullptr && at::hasMKLDNN() && at::globalContext().userEnabledMkldnn(); }

torch::Tensor conv2d_relu(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, int64_t padding,
                          bool relu) {
  const bool fused = !torch::GradMode::is_enabled() && fused_conv_relu_available() && x.device().is_cpu() &&
                     x.scalar_type() == torch::kFloat && weight.scalar_type() == torch::kFloat;  // no autograd formula
  if (!fused) {
    auto y = torch::conv2d(x, weight, bias, /*stride=*/{1, 1}, /*padding=*/{padding, padding});
    return relu ? y.relu_() : y;
  }
  // mkldnn::_convolution_pointwise(Tensor X, Tensor W, Tensor? B, int[] padding, int[] stride, int[] dilation,
  //                                int groups, str attr, Scalar?[] scalars, str? algorithm) -> Tensor Y
  torch::jit::Stack stack{x,
                          weight,
                          bias.defined() ? c10::IValue(bias) : c10::IValue(),
                          std::vector<int64_t>{padding, padding},
                          std::vector<int64_t>{1, 1},
                          std::vector<int64_t>{1, 1},
                          int64_t{1},
                          std::string(relu ? "relu" : "none"),
                          c10::List<c10::optional<at::Scalar>>(),
                          c10::IValue()};
  fused_conv_op()->callBoxed(&stack);
  return stack.at(0).toTensor();
}

}  // namespace deepgen::torch_compat
