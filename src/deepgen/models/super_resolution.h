// Single-image super-resolution, VDSR-style (Kim, Lee & Lee 2016, "Accurate Image Super-Resolution
// Using Very Deep Convolutional Networks"): the low-resolution image is upscaled by bicubic
// interpolation, and a stack of 3x3 conv+ReLU layers (the DnCNN stack without batch norm) predicts the
// missing detail, which is added back: out = up + R(up). Training pairs are made on the fly: each
// high-resolution patch is downscaled by the scale factor (antialiased bicubic), then upscaled again.
#pragma once

#include <torch/torch.h>

#include "deepgen/core/options.h"
#include "deepgen/models/dncnn.h"
#include "deepgen/models/family.h"

namespace deepgen {

struct SrOptions {
  int64_t channels = 1;        // 1 gray, 3 RGB (set from the data)
  int64_t scale = 2;           // upscaling factor: 2, 3 or 4
  int64_t depth = 20;          // 3x3 conv layers (VDSR: 20)
  int64_t width = 64;          // feature maps of the hidden layers (VDSR: 64)
  std::string precision = "fp32";  // training: fp32 or bf16 (autocast, as for DnCNN); evaluation is fp32
  OptimizerOptions optimizer;  // Adam, lr 1e-3
};
void to_json(nlohmann::json& j, const SrOptions& o);
void from_json(const nlohmann::json& j, SrOptions& o);
// The declarations of SrOptions: flags, help, JSON keys, valid values, scopes.
const OptionSchema<SrOptions>& sr_options();

// The loss beside the model: mean squared error of the reconstruction against the high-resolution
// target, per pixel.
torch::Tensor sr_loss(const torch::Tensor& output, const torch::Tensor& target);

// The bicubic round trip that makes a training input: (N, C, H, W) with H and W multiples of `scale`
// -> downscaled by `scale` (antialiased bicubic, rounded to 8 bits) -> bicubic back to (N, C, H, W). Also returns the
// low-resolution images.
std::pair<torch::Tensor, torch::Tensor> degrade(const torch::Tensor& high, int64_t scale);

class SrFamily : public Family, public Upscaler {
 public:
  SrFamily(const SrOptions& options, torch::Device device);

  std::string kind() const override { return "sr"; }
  nlohmann::json options() const override { return options_; }
  PixelRange pixel_range() const override { return PixelRange::kUnit; }
  bool conv_heavy() const override { return true; }
  StepMetrics train_step(const torch::Tensor& images, const torch::Tensor& labels) override;
  // PSNR of the model and of plain bicubic upscaling on the test patches.
  Metrics evaluate(const Dataset& data, int64_t batch_size) override;
  std::map<std::string, Picture> pictures(const Dataset& test) override;  // bicubic / model / original rows
  std::vector<Optimizer*> optimizers() override { return {&optimizer_}; }
  void save(torch::serialize::OutputArchive& archive) override;
  void load(torch::serialize::InputArchive& archive) override;

  torch::Tensor refine(const torch::Tensor& up) override;
  int64_t image_channels() const override { return options_.channels; }
  int64_t scale() const override { return options_.scale; }
  int64_t receptive_radius() override { return net_->receptive_radius(); }
  ResidualCnn& net() { return net_; }
  const SrOptions& settings() const { return options_; }

 private:
  SrOptions options_;
  torch::Device device_;
  ResidualCnn net_;
  Optimizer optimizer_;
  bool bf16_;  // train under bf16 autocast, channels-last weights
};

}  // namespace deepgen
