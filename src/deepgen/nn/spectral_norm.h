// Spectral normalization (Miyato et al. 2018): a Linear or Conv2d layer that computes with W / sigma(W),
// sigma(W) its largest singular value, estimated by power iteration on W reshaped to (out, in * k * k).
// As PyTorch's torch.nn.utils.spectral_norm: u and v are kept between steps (buffers, so checkpoints
// carry them), each training forward advances them by `iterations` steps without gradients, and the
// gradient flows through sigma = u^T W v. In eval mode u and v stay as they are. LibTorch's C++ API has
// no spectral_norm and no forward pre-hooks (pytorch/pytorch#25883), so this wraps the layer and calls
// the layer's function with the normalized weight.
#pragma once

#include <torch/torch.h>

namespace deepgen {

class SpectralNormImpl : public torch::nn::Module {
 public:
  explicit SpectralNormImpl(torch::nn::Linear linear, int64_t iterations = 1);
  explicit SpectralNormImpl(torch::nn::Conv2d conv, int64_t iterations = 1);

  torch::Tensor forward(const torch::Tensor& input);
  // W / sigma(W); in training mode it first advances u and v.
  torch::Tensor normalized_weight();
  // The current estimate u^T W v of the largest singular value (no power step).
  torch::Tensor sigma();

  torch::nn::Linear linear{nullptr};
  torch::nn::Conv2d conv{nullptr};

 private:
  void init_vectors(const torch::Tensor& weight);
  const torch::Tensor& weight() const { return linear ? linear->weight : conv->weight; }

  int64_t iterations_;
  torch::Tensor u_, v_;  // (out), (in * k * k), unit vectors
};
TORCH_MODULE(SpectralNorm);

}  // namespace deepgen
