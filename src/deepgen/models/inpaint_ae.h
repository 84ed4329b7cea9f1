// Inpainting with an autoencoder, in the manner of Context Encoders (Pathak et al. 2016): the network
// sees the image with its hole blanked out plus the mask, encodes it with strided convolutions, widens
// its view with dilated convolutions at the bottleneck (as Iizuka et al. 2017 do, instead of the
// paper's channel-wise fully-connected layer, so any size that is a multiple of 16 works), and decodes
// with transposed convolutions. It is trained with the L2 loss on the missing pixels only; the known
// pixels are pasted back over its output.
#pragma once

#include <torch/torch.h>

#include "deepgen/core/options.h"
#include "deepgen/models/family.h"

namespace deepgen {

struct InpaintAeOptions {
  int64_t channels = 1;         // 1 gray, 3 RGB (set from the data)
  int64_t width = 32;           // feature maps of the first layer (doubling to 8x at the bottleneck)
  std::string mask = "center";  // training holes: center (a centred square of half the side), random
                                // (80% of the pixels missing) or mixed (either, half the time each)
  OptimizerOptions optimizer;   // Adam, lr 1e-3
};
void to_json(nlohmann::json& j, const InpaintAeOptions& o);
void from_json(const nlohmann::json& j, InpaintAeOptions& o);
// The declarations of InpaintAeOptions: flags, help, JSON keys, valid values, scopes.
const OptionSchema<InpaintAeOptions>& inpaint_ae_options();

// The loss beside the model: mean squared error over the missing pixels (mask 0) only.
// output, target: (N, C, H, W); masks: (N or 1, 1, H, W), 1 = known.
torch::Tensor hole_loss(const torch::Tensor& output, const torch::Tensor& target, const torch::Tensor& masks);

// The baseline: every missing pixel gets its image's mean over the known pixels (per channel).
torch::Tensor mean_fill(const torch::Tensor& images, const torch::Tensor& masks);

// Training holes for a batch of n side x side images, per image (mixed picks per image): (n, 1, S, S).
torch::Tensor training_masks(const std::string& kind, int64_t n, int64_t side, const torch::TensorOptions& options);

struct ContextEncoderImpl : torch::nn::Module {
  ContextEncoderImpl(int64_t channels, int64_t width);
  // images (N, C, H, W) with H and W multiples of 16, masks (N, 1, H, W) -> filled images in [0, 1].
  torch::Tensor forward(const torch::Tensor& images, const torch::Tensor& masks);
  torch::nn::Sequential encoder{nullptr}, bottleneck{nullptr}, decoder{nullptr};
};
TORCH_MODULE(ContextEncoder);

class InpaintAeFamily : public Family, public Inpainter {
 public:
  InpaintAeFamily(const InpaintAeOptions& options, torch::Device device);

  std::string kind() const override { return "inpaint-ae"; }
  nlohmann::json options() const override { return options_; }
  PixelRange pixel_range() const override { return PixelRange::kUnit; }
  bool conv_heavy() const override { return true; }
  StepMetrics train_step(const torch::Tensor& images, const torch::Tensor& labels) override;
  // PSNR inside the centre hole of the test patches, of the model and of mean filling.
  Metrics evaluate(const Dataset& data, int64_t batch_size) override;
  std::map<std::string, Picture> pictures(const Dataset& test) override;  // masked / filled / original rows
  std::vector<Optimizer*> optimizers() override { return {&optimizer_}; }
  void save(torch::serialize::OutputArchive& archive) override;
  void load(torch::serialize::InputArchive& archive) override;

  // Known pixels of `images` and the network's output in the holes. Any size: the images are padded
  // (mirrored) to a multiple of 16 and cropped back. images (N, C, H, W) in [0, 1], masks (N or 1, 1, H, W).
  torch::Tensor fill(const torch::Tensor& images, const torch::Tensor& masks) override;
  int64_t image_channels() const override { return options_.channels; }

 private:
  InpaintAeOptions options_;
  torch::Device device_;
  ContextEncoder net_;
  Optimizer optimizer_;
};

}  // namespace deepgen
