// A StyleGAN-style generator (Karras et al. 2019, with StyleGAN2's weight modulation and demodulation,
// Karras et al. 2020), at the sizes a CPU can train (16-64 px). What it has:
// - a mapping network z -> w: pixel-normalized z, `mapping_layers` dense layers with leaky ReLU, a
//   learning-rate multiplier of 0.01 (equalized learning rate: weights drawn N(0, 1/lr_mul^2) and scaled
//   by lr_mul / sqrt(fan_in) at run time), and a running average of w for the truncation trick;
// - a synthesis network from a learned 4x4 constant: per resolution two 3x3 convolutions (one at 4x4)
//   whose weights are modulated by a per-layer affine style of w and demodulated (StyleGAN2, not AdaIN),
//   per-layer noise inputs with learned strengths, and a modulated 1x1 toRGB per resolution summed into
//   the image (StyleGAN2's skip generator); up-sampling is bilinear (not the papers' FIR filter);
// - style mixing in training (two codes, a random crossover layer, with probability `style_mixing`);
// - in eval mode the noise inputs are fixed per layer (StyleGAN2's noise_mode 'const'), so a code
//   always gives the same image.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace deepgen {

struct StyleGanOptions {
  int64_t channels = 1;        // image channels
  int64_t image_size = 32;     // a power of two from 8 to 256
  int64_t latent_dim = 64;     // size of z and of w
  int64_t features = 32;       // feature maps at the highest resolution; 2x per halving, at most 4x
  int64_t mapping_layers = 8;  // dense layers of the mapping network
  double mapping_lr = 0.01;    // its learning-rate multiplier
  double style_mixing = 0.9;   // probability of mixing two codes in a training batch
  double w_avg_beta = 0.995;   // decay of the running average of w
};

// A dense layer with an equalized learning rate: y = x (W lr_mul / sqrt(in))^T + b lr_mul.
struct EqualLinearImpl : torch::nn::Module {
  EqualLinearImpl(int64_t in, int64_t out, double lr_mul = 1.0, double bias_init = 0.0);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
  double scale, lr_mul;
};
TORCH_MODULE(EqualLinear);

// A k x k convolution whose weight is modulated per sample by a style (B, in) and, with `demodulate`,
// rescaled so each output map has unit expected variance: w'_bijk = s_bj w_ijk / sqrt(in k k),
// w''_bijk = w'_bijk / sqrt(sum_jk w'_bijk^2 + 1e-8). Run as one grouped convolution over the batch.
struct ModulatedConvImpl : torch::nn::Module {
  ModulatedConvImpl(int64_t in, int64_t out, int64_t kernel, int64_t w_dim, bool demodulate);
  // x (B, in, H, W), w (B, w_dim) -> (B, out, H, W)
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& w);
  // The per-sample weights (B, out, in, k, k) for styles (B, in).
  torch::Tensor modulated_weight(const torch::Tensor& styles) const;
  EqualLinear affine{nullptr};  // w -> style (B, in), bias initialized to 1
  torch::Tensor weight;         // (out, in, k, k) ~ N(0, 1)
  int64_t kernel;
  bool demodulate;
};
TORCH_MODULE(ModulatedConv);

class StyleGeneratorImpl : public torch::nn::Module {
 public:
  explicit StyleGeneratorImpl(const StyleGanOptions& options);

  // z (B, latent_dim) -> images (B, C, S, S): mapping, truncation (psi < 1, around the average w),
  // style mixing in training, synthesis.
  torch::Tensor forward(const torch::Tensor& z, double truncation = 1.0);
  // z (B, latent_dim) -> w (B, latent_dim); in training mode it also updates the average w.
  torch::Tensor map(const torch::Tensor& z);
  // w_avg + psi (w - w_avg).
  torch::Tensor truncate(const torch::Tensor& w, double psi) const;
  // Per-layer codes (B, num_ws, latent_dim) -> images; noise is fresh in training mode or with
  // `fresh_noise`, fixed per layer otherwise.
  torch::Tensor synthesize(const torch::Tensor& ws, bool fresh_noise = false);
  int64_t num_ws() const { return int64_t(layers_.size()); }
  const torch::Tensor& w_avg() const { return w_avg_; }
  void set_w_avg(const torch::Tensor& w) { w_avg_.copy_(w); }

 private:
  struct Layer {
    ModulatedConv conv{nullptr};
    torch::Tensor noise_strength, noise_const, bias;  // conv layers; toRGB has only bias
    bool to_rgb = false;
    bool upsample = false;  // this conv starts a new, twice larger resolution
  };
  StyleGanOptions options_;
  torch::nn::Sequential mapping_{nullptr};
  torch::Tensor constant_, w_avg_;
  std::vector<Layer> layers_;  // in order; each takes one code of ws
};
TORCH_MODULE(StyleGenerator);

}  // namespace deepgen
