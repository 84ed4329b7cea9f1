#include "deepgen/models/stylegan.h"
#include "deepgen/core/batch_shard.h"
#include "deepgen/distributed/world.h"

#include <cmath>

#include "deepgen/core/error.h"

namespace deepgen {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {
// Leaky ReLU with StyleGAN's gain sqrt(2), which keeps the activations' scale.
torch::Tensor lrelu(const torch::Tensor& x) {
  return F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.2)) * std::sqrt(2.0);
}
}  // namespace

EqualLinearImpl::EqualLinearImpl(int64_t in, int64_t out, double lr, double bias_init)
    : scale(lr / std::sqrt(double(in))), lr_mul(lr) {
  weight = register_parameter("weight", torch::randn({out, in}) / lr);
  bias = register_parameter("bias", torch::full({out}, bias_init / lr));
}

torch::Tensor EqualLinearImpl::forward(const torch::Tensor& x) { return F::linear(x, weight * scale, bias * lr_mul); }

ModulatedConvImpl::ModulatedConvImpl(int64_t in, int64_t out, int64_t k, int64_t w_dim, bool demod)
    : kernel(k), demodulate(demod) {
  affine = register_module("affine", EqualLinear(w_dim, in, 1.0, 1.0));
  weight = register_parameter("weight", torch::randn({out, in, k, k}));
}

torch::Tensor ModulatedConvImpl::modulated_weight(const torch::Tensor& styles) const {
  const int64_t batch = styles.size(0), in = weight.size(1);
  const double scale = 1.0 / std::sqrt(double(in * kernel * kernel));
  auto w = scale * weight.unsqueeze(0) * styles.view({batch, 1, in, 1, 1});  // (B, out, in, k, k)
  if (demodulate) w = w * torch::rsqrt(w.pow(2).sum({2, 3, 4}, /*keepdim=*/true) + 1e-8);
  return w;
}

torch::Tensor ModulatedConvImpl::forward(const torch::Tensor& x, const torch::Tensor& w) {
  const int64_t batch = x.size(0), in = x.size(1), out = weight.size(0);
  const auto weights = modulated_weight(affine->forward(w)).reshape({batch * out, in, kernel, kernel});
  // All samples as groups of one convolution: (1, B*in, H, W) -> (1, B*out, H, W).
  const auto y = F::conv2d(x.reshape({1, batch * in, x.size(2), x.size(3)}), weights,
                           F::Conv2dFuncOptions().padding(kernel / 2).groups(batch));
  return y.view({batch, out, x.size(2), x.size(3)});
}

StyleGeneratorImpl::StyleGeneratorImpl(const StyleGanOptions& o) : options_(o) {
  int64_t doublings = 0;
  for (int64_t side = 4; side < o.image_size; side *= 2) ++doublings;
  check(o.image_size >= 8 && o.image_size <= 256 && (int64_t(4) << doublings) == o.image_size,
        "gan --arch stylegan: the image size must be a power of two from 8 to 256, found ", o.image_size,
        "; use --image-size 32 for Fashion-MNIST");
  check(o.channels == 1 || o.channels == 3, "gan --arch stylegan: expected 1 or 3 channels, found ", o.channels);
  check(o.latent_dim >= 1 && o.features >= 1 && o.mapping_layers >= 1, "gan --arch stylegan: --latent-dim, ",
        "--g-features and --mapping-layers must be positive");
  check(o.style_mixing >= 0 && o.style_mixing <= 1, "--style-mixing: expected a probability, found ", o.style_mixing);
  mapping_ = nn::Sequential();
  for (int64_t i = 0; i < o.mapping_layers; ++i) {
    mapping_->push_back(EqualLinear(o.latent_dim, o.latent_dim, o.mapping_lr));
    mapping_->push_back(nn::Functional(lrelu));
  }
  register_module("mapping", mapping_);
  // Feature maps: `features` at the full size, twice as many per halving, at most 4x.
  auto features_at = [&](int64_t side) { return o.features * std::min<int64_t>(4, o.image_size / side); };
  constant_ = register_parameter("constant", torch::randn({1, features_at(4), 4, 4}));
  w_avg_ = register_buffer("w_avg", torch::zeros({o.latent_dim}));
  int64_t in = features_at(4);
  auto add_conv = [&](int64_t out, int64_t side, bool upsample) {
    Layer layer;
    const std::string name = "conv" + std::to_string(layers_.size());
    layer.conv = register_module(name, ModulatedConv(in, out, 3, o.latent_dim, /*demodulate=*/true));
    layer.noise_strength = register_parameter(name + "_noise_strength", torch::zeros({1}));
    layer.noise_const = register_buffer(name + "_noise_const", torch::randn({1, 1, side, side}));
    layer.bias = register_parameter(name + "_bias", torch::zeros({out}));
    layer.upsample = upsample;
    layers_.push_back(layer);
    in = out;
  };
  auto add_rgb = [&]() {
    Layer layer;
    const std::string name = "to_rgb" + std::to_string(layers_.size());
    layer.conv = register_module(name, ModulatedConv(in, o.channels, 1, o.latent_dim, /*demodulate=*/false));
    layer.bias = register_parameter(name + "_bias", torch::zeros({o.channels}));
    layer.to_rgb = true;
    layers_.push_back(layer);
  };
  add_conv(features_at(4), 4, false);
  add_rgb();
  for (int64_t side = 8; side <= o.image_size; side *= 2) {
    add_conv(features_at(side), side, true);
    add_conv(features_at(side), side, false);
    add_rgb();
  }
}

torch::Tensor StyleGeneratorImpl::map(const torch::Tensor& z) {
  const auto normalized = z * torch::rsqrt(z.pow(2).mean(1, /*keepdim=*/true) + 1e-8);
  auto w = mapping_->forward(normalized);
  if (is_training()) {
    torch::NoGradGuard no_grad;
    // Over the whole global batch when several ranks train (the same on every rank).
    w_avg_.copy_(global_batch_mean(w.detach().mean(0), "StyleGAN's average w").lerp(w_avg_, options_.w_avg_beta));
  }
  return w;
}

torch::Tensor StyleGeneratorImpl::truncate(const torch::Tensor& w, double psi) const {
  return psi == 1.0 ? w : w_avg_.lerp(w, psi);
}

torch::Tensor StyleGeneratorImpl::synthesize(const torch::Tensor& ws, bool fresh_noise) {
  check(ws.dim() == 3 && ws.size(1) == num_ws(), "stylegan: expected codes (B, ", num_ws(), ", w), found ", ws.sizes());
  const int64_t batch = ws.size(0);
  auto x = constant_.expand({batch, -1, -1, -1});
  torch::Tensor image;
  for (size_t i = 0; i < layers_.size(); ++i) {
    Layer& layer = layers_[i];
    const auto w = ws.select(1, int64_t(i));
    if (layer.to_rgb) {
      const auto rgb = layer.conv->forward(x, w) + layer.bias.view({1, -1, 1, 1});
      image = image.defined() ? F::interpolate(image, F::InterpolateFuncOptions()
                                                          .scale_factor(std::vector<double>{2, 2})
                                                          .mode(torch::kBilinear)
                                                          .align_corners(false)) + rgb
                              : rgb;
      continue;
    }
    if (layer.upsample) {
      x = F::interpolate(x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kBilinear).align_corners(false));
    }
    x = layer.conv->forward(x, w);
    const auto noise = (is_training() || fresh_noise) ? batch_randn({batch, 1, x.size(2), x.size(3)}, x.options())
                                                      : layer.noise_const;
    x = lrelu(x + noise * layer.noise_strength + layer.bias.view({1, -1, 1, 1}));
  }
  return image;
}

torch::Tensor StyleGeneratorImpl::forward(const torch::Tensor& z, double truncation) {
  auto w = truncate(map(z), truncation);
  auto ws = w.unsqueeze(1).expand({-1, num_ws(), -1});
  if (is_training() && options_.style_mixing > 0 && step_rand({1}).item<double>() < options_.style_mixing) {
    // Style mixing: the layers from a random crossover on take the code of a second z.
    const int64_t cutoff = 1 + std::min(num_ws() - 2, int64_t(step_rand({1}).item<double>() * double(num_ws() - 1)));
    const auto other = map(batch_randn_like(z)).unsqueeze(1).expand({-1, num_ws(), -1});
    const auto layer = torch::arange(num_ws(), z.options().dtype(torch::kLong)).view({1, -1, 1});
    ws = torch::where(layer < cutoff, ws, other);
  }
  return synthesize(ws);
}

}  // namespace deepgen
