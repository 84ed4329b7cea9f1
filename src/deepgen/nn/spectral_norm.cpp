#include "deepgen/nn/spectral_norm.h"

#include "deepgen/core/error.h"
#include "deepgen/core/torch_compat.h"

namespace deepgen {
namespace F = torch::nn::functional;

namespace {
torch::Tensor unit(const torch::Tensor& x) { return F::normalize(x, F::NormalizeFuncOptions().dim(0).eps(1e-12)); }
}  // namespace

SpectralNormImpl::SpectralNormImpl(torch::nn::Linear layer, int64_t iterations) : linear(layer), iterations_(iterations) {
  register_module("linear", linear);
  init_vectors(linear->weight);
}

SpectralNormImpl::SpectralNormImpl(torch::nn::Conv2d layer, int64_t iterations) : conv(layer), iterations_(iterations) {
  check(torch_compat::get_if<torch::ExpandingArray<2>>(&conv->options.padding()) != nullptr &&
            torch_compat::get_if<torch::enumtype::kZeros>(&conv->options.padding_mode()) != nullptr,
        "spectral norm: expected a convolution with numeric zero padding");
  register_module("conv", conv);
  init_vectors(conv->weight);
}

void SpectralNormImpl::init_vectors(const torch::Tensor& weight) {
  check(iterations_ >= 1, "spectral norm: expected at least 1 power iteration, found ", iterations_);
  const auto matrix = weight.detach().flatten(1);  // (out, in * k * k)
  u_ = register_buffer("u", unit(torch::randn({matrix.size(0)}, weight.options())));
  v_ = register_buffer("v", unit(torch::randn({matrix.size(1)}, weight.options())));
}

torch::Tensor SpectralNormImpl::sigma() {
  const auto matrix = weight().flatten(1);
  return torch::dot(u_, torch::mv(matrix, v_));
}

torch::Tensor SpectralNormImpl::normalized_weight() {
  if (is_training()) {
    torch::NoGradGuard no_grad;
    const auto matrix = weight().flatten(1);
    for (int64_t i = 0; i < iterations_; ++i) {
      v_.copy_(unit(torch::mv(matrix.t(), u_)));
      u_.copy_(unit(torch::mv(matrix, v_)));
    }
  }
  // Clones, so the graph keeps these values when a later forward advances u and v in place (a GAN step
  // runs D on real and fake images before one backward).
  return weight() / torch::dot(u_.clone(), torch::mv(weight().flatten(1), v_.clone()));
}

torch::Tensor SpectralNormImpl::forward(const torch::Tensor& input) {
  const auto w = normalized_weight();
  if (linear) return F::linear(input, w, linear->bias);
  const auto& o = conv->options;
  return torch::conv2d(input, w, conv->bias, *o.stride(), torch_compat::get<torch::ExpandingArray<2>>(o.padding()),
                       *o.dilation(), o.groups());
}

}  // namespace deepgen
