// DnCNN (Zhang, Zuo, Chen, Meng & Zhang 2017, "Beyond a Gaussian Denoiser: Residual Learning of Deep CNN
// for Image Denoising"): a plain stack of 3x3 convolutions that predicts the noise v of y = x + v; the
// denoised image is y - R(y). Conv+ReLU, then depth-2 Conv+BN+ReLU, then Conv; 'same' padding, so any
// image size works. Trained with a fixed noise level (DnCNN-S, depth 17) or a new sigma per patch drawn
// from a range (blind, DnCNN-B, depth 20).
#pragma once

#include <torch/torch.h>

#include "deepgen/core/options.h"
#include "deepgen/models/family.h"

namespace deepgen {

// The convolution stack both DnCNN and the VDSR-style super-resolution net use: in -> width -> ... ->
// out channels, `depth` 3x3 convolutions in all, ReLU between them, batch norm on the middle ones when
// asked; no activation at the end. 'same' padding: (N, C, H, W) -> (N, C, H, W). `init` "kaiming": every
// convolution He-initialized; "dirac": the middle width -> width convolutions start as the identity
// (torch.nn.init.dirac_) plus N(0, 0.01) noise, so that the first layer's features, noise included,
// reach the last layer from the first step (a deep stack of random layers scrambles them: a 20-layer
// colour DnCNN then spends hundreds of steps near R(x) = 0; docs/models.md, dncnn). The last layer starts
// near zero either way.
struct ResidualCnnImpl : torch::nn::Module {
  ResidualCnnImpl(int64_t channels, int64_t depth, int64_t width, bool batch_norm, const std::string& init = "kaiming");
  torch::Tensor forward(const torch::Tensor& x);  // the residual R(x)
  // R(x) for a training step: under bf16 autocast on x's device with a channels-last input when `bf16`
  // (see AutocastScope; the weights should be channels-last too, to_channels_last), as is otherwise;
  // float32 either way.
  torch::Tensor forward_train(const torch::Tensor& x, bool bf16);
  // R(x) for evaluation and the inference commands: the running statistics of each batch norm folded
  // into the convolution before it (w * g, (b - mean) * g + beta with g = gamma / sqrt(var + eps), as
  // PyTorch's fuse_conv_bn_eval), ReLU in place, and on the CPU the activations channels-last, which
  // MKL-DNN convolves 1.3x-1.5x faster than NCHW (docs/speed.md, "Inference"). Without autograd; the same
  // function as forward() in eval mode up to float rounding, whatever mode the module is in.
  torch::Tensor infer(const torch::Tensor& x);
  int64_t receptive_radius() const { return depth; }  // pixels of context each output pixel sees per side
  int64_t depth;
  torch::nn::Sequential layers{nullptr};
};
TORCH_MODULE(ResidualCnn);

struct DnCnnOptions {
  int64_t channels = 1;     // 1 gray, 3 RGB (set from the data)
  int64_t depth = 0;        // 3x3 conv layers; 0 = 17 for a fixed sigma, 20 for blind (the paper's)
  int64_t width = 64;       // feature maps of the hidden layers
  bool batch_norm = true;   // BN on the middle layers (the paper's)
  double sigma = 25;        // fixed noise level, on the 0-255 scale (ignored when blind)
  double sigma_min = 0;     // blind: a new sigma per patch, drawn from [sigma_min, sigma_max];
  double sigma_max = 0;     //   blind when sigma_max > 0 (the paper: 0..55; the lectures: 5..50)
  std::string sigma_sampling = "uniform";  // blind: "uniform" (the paper's), or "log-uniform" (uniform in
                                           //   log sigma: as many patches in 5..15 as in 15..45; needs MIN > 0)
  std::string init = "kaiming";    // the middle layers' initialization: kaiming, or dirac (ResidualCnn)
  std::string precision = "fp32";  // training: fp32, or bf16 (autocast: convolutions in bfloat16, weights
                                   //   and loss float32; ~2.2x faster on CPUs with AMX); evaluation is fp32
  OptimizerOptions optimizer;  // Adam, lr 1e-3
  bool blind() const { return sigma_max > 0; }
  // The noise levels a model is measured at unless told otherwise: its own, or 15 25 50 when blind.
  std::vector<double> measured_sigmas() const { return blind() ? std::vector<double>{15, 25, 50} : std::vector<double>{sigma}; }
};
void to_json(nlohmann::json& j, const DnCnnOptions& o);
void from_json(const nlohmann::json& j, DnCnnOptions& o);
// The declarations of DnCnnOptions: flags, help, JSON keys, valid values, scopes.
const OptionSchema<DnCnnOptions>& dncnn_options();

// The loss beside the model: 1/(2N) sum_i ||R(y_i) - (y_i - x_i)||^2 over a batch of N, where
// y - x = v is the noise that was added. residual: R(y); noise: v. Both (N, C, H, W).
torch::Tensor dncnn_loss(const torch::Tensor& residual, const torch::Tensor& noise);

// Per-patch noise levels for a batch of n: the fixed sigma, or uniform (or log-uniform, as sigma_sampling
// says) in [sigma_min, sigma_max] for blind training, on the 0-255 scale; (n) float, drawn from the global
// generator.
torch::Tensor draw_sigmas(const DnCnnOptions& options, int64_t n, const torch::TensorOptions& tensor_options);

class DnCnnFamily : public Family, public Denoiser {
 public:
  DnCnnFamily(const DnCnnOptions& options, torch::Device device);

  std::string kind() const override { return "dncnn"; }
  nlohmann::json options() const override { return options_; }
  PixelRange pixel_range() const override { return PixelRange::kUnit; }
  bool conv_heavy() const override { return true; }
  // images: clean patches; each gets a random symmetry of the square and fresh Gaussian noise.
  StepMetrics train_step(const torch::Tensor& images, const torch::Tensor& labels) override;
  // PSNR of the denoised test patches (fixed noise from seed 0): at the training sigma, or at 15, 25
  // and 50 for a blind model ("psnr" is then their mean and "loss" is at 25).
  Metrics evaluate(const Dataset& data, int64_t batch_size) override;
  std::map<std::string, Picture> pictures(const Dataset& test) override;  // clean / noisy / denoised rows
  std::vector<Optimizer*> optimizers() override { return {&optimizer_}; }
  void save(torch::serialize::OutputArchive& archive) override;
  void load(torch::serialize::InputArchive& archive) override;

  torch::Tensor denoise(const torch::Tensor& noisy) override;
  int64_t image_channels() const override { return options_.channels; }
  bool blind() const override { return options_.blind(); }
  double sigma() const override { return options_.sigma; }
  double sigma_min() const override { return options_.sigma_min; }
  double sigma_max() const override { return options_.sigma_max; }
  std::vector<double> measured_sigmas() const override { return options_.measured_sigmas(); }
  int64_t receptive_radius() override { return net_->receptive_radius(); }
  ResidualCnn& net() { return net_; }
  const DnCnnOptions& settings() const { return options_; }

 private:
  DnCnnOptions options_;
  torch::Device device_;
  ResidualCnn net_;
  Optimizer optimizer_;
  bool bf16_;  // train under bf16 autocast, channels-last weights
};

}  // namespace deepgen
