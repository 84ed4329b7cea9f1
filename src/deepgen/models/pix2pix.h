// pix2pix (Isola, Zhu, Zhou & Efros 2017, "Image-to-Image Translation with Conditional Adversarial
// Networks"): paired translation, trained with pairs of images of the two domains. A U-Net generator
// (encoder-decoder with skip connections between mirrored layers; dropout is its only noise) and a
// PatchGAN discriminator that sees the input and the output together and scores each overlapping patch
// as real or fake. G minimizes the conditional GAN loss + lambda * L1 to the target (lambda 100), both
// with Adam 2e-4, beta1 0.5. --no-gan is the L1-only ablation (the U-Net as a plain regression).
#pragma once

#include <torch/torch.h>

#include "deepgen/core/options.h"
#include "deepgen/models/family.h"

namespace deepgen {

// The pix2pix U-Net: `depth` 4x4 stride-2 convolutions down (to 1x1 for a side of 2^depth), as many
// transposed convolutions up, each up level fed the concatenation of the level below and the mirrored
// down level (the skips). Features: f, 2f, 4f, 8f, 8f, ... ; LeakyReLU 0.2 down, ReLU up, batch norm
// except on the first down, the innermost and the last up layers; dropout on the three up levels next to
// the innermost; tanh output (pixels in [-1, 1]).
// (N, in, H, W) -> (N, out, H, W) with H and W multiples of 2^depth.
struct UNetImpl : torch::nn::Module {
  UNetImpl(int64_t in_channels, int64_t out_channels, int64_t depth, int64_t features, double dropout);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t depth;
  std::vector<torch::nn::Sequential> down, up;  // down[0] is the outermost level, up[0] the output layer
};
TORCH_MODULE(UNet);

// The PatchGAN discriminator (pix2pix's NLayerDiscriminator; 70x70 patches with 3 layers): `layers` 4x4
// stride-2 convolutions (f, 2f, 4f, 8f at most), one stride-1 convolution, then a 1-channel 4x4 map of
// raw scores. (N, C, S, S) -> (N, 1, P, P): one score per patch. Batch norm after the inner convolutions
// (pix2pix), or instance norm without affine parameters (`instance_norm`: CycleGAN's).
struct PatchDiscriminatorImpl : torch::nn::Module {
  PatchDiscriminatorImpl(int64_t in_channels, int64_t features, int64_t layers, bool instance_norm = false);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Sequential layers{nullptr};
};
TORCH_MODULE(PatchDiscriminator);

// The side of a PatchGAN's map of scores for images of side `side` (0 when the layers leave nothing), and
// the side its last normalized layer sees.
int64_t patch_map_side(int64_t side, int64_t layers);
int64_t patch_last_norm_side(int64_t side, int64_t layers);

// N(0, 0.02) convolution weights, zero biases, N(1, 0.02) batch-norm scales (pix2pix's and DCGAN's).
void translation_init(torch::nn::Module& module);

// Gray images (B, 1, H, W) repeated to 3 channels where `rgb`, others as they are: grids of translation
// pictures that mix gray and colour sides.
torch::Tensor gray_as_rgb(const torch::Tensor& images, bool rgb);

// Turns gradients of every parameter of `module` off or on (a discriminator held fixed while its
// generator steps).
void set_trainable(torch::nn::Module& module, bool trainable);

// The GAN terms of pix2pix and CycleGAN on patch scores, with gan.h's losses ("nonsaturating": the
// vanilla cross-entropy GAN, "lsgan": least squares) scaled as the papers' code has them:
//   D: (loss on real + loss on fake) / 2;  G: cross-entropy -log D(fake), or (D(fake) - 1)^2.
torch::Tensor translation_d_loss(const std::string& loss, const torch::Tensor& real_scores, const torch::Tensor& fake_scores);
torch::Tensor translation_g_loss(const std::string& loss, const torch::Tensor& fake_scores);

struct Pix2PixOptions {
  std::string pairs = "edges";   // side-by-side | folders | edges | gray (data/paired_images.h)
  std::string direction = "a2b"; // which side of a stored pair is the input
  int64_t input_channels = 1;    // set from the data
  int64_t output_channels = 1;   // set from the data
  int64_t image_size = 32;       // set from the data: a power of two, 32 to 256
  int64_t g_features = 64;       // U-Net features at the outermost level (ngf)
  int64_t d_features = 64;       // PatchGAN features at its first layer (ndf)
  int64_t d_layers = 3;          // PatchGAN stride-2 layers (3: 70x70 patches)
  double dropout = 0.5;          // in the three up levels next to the innermost
  bool adversarial = true;       // false (--no-gan): the L1-only ablation (no discriminator)
  std::string gan_loss = "nonsaturating";  // nonsaturating (the paper's cross-entropy) | lsgan
  double lambda_l1 = 100;        // weight of the L1 term
  OptimizerOptions optimizer{"adam", 2e-4, 0.9, 0.5};  // both networks: Adam 2e-4, beta1 0.5
};
void to_json(nlohmann::json& j, const Pix2PixOptions& o);
void from_json(const nlohmann::json& j, Pix2PixOptions& o);
const OptionSchema<Pix2PixOptions>& pix2pix_options();

// U-Net levels for a side: log2(side). Throws naming --image-size unless side is a power of two in 32..256.
int64_t unet_depth(int64_t image_size);

// Pads (N, C, H, W) at the bottom and right (mirrored, image_quality.h) to multiples of `multiple`.
torch::Tensor pad_to_multiple(const torch::Tensor& x, int64_t multiple);

class Pix2PixFamily : public Family, public Translator {
 public:
  Pix2PixFamily(const Pix2PixOptions& options, torch::Device device);

  std::string kind() const override { return "pix2pix"; }
  nlohmann::json options() const override { return options_; }
  PixelRange pixel_range() const override { return PixelRange::kSymmetric; }
  bool conv_heavy() const override { return true; }
  // images: (B, Cin + Cout, S, S) pairs. One D step (unless --no-gan), then one G step on
  // gan + lambda * L1. Metrics: loss (G's objective), l1 (on the 0-1 scale), psnr; loss_d, loss_g_gan,
  // d_real and d_fake (mean patch scores) with the GAN.
  StepMetrics train_step(const torch::Tensor& images, const torch::Tensor& labels) override;
  // l1 and psnr (0-1 scale) and ssim of the translations, eval mode (running statistics, no dropout).
  Metrics evaluate(const Dataset& data, int64_t batch_size) override;
  std::map<std::string, Picture> pictures(const Dataset& test) override;  // "translations"
  std::vector<Optimizer*> optimizers() override;
  void save(torch::serialize::OutputArchive& archive) override;
  void load(torch::serialize::InputArchive& archive) override;

  std::vector<std::string> directions() const override { return {"a2b"}; }
  int64_t input_channels(const std::string& direction) const override;
  torch::Tensor translate(const torch::Tensor& images, const std::string& direction) override;
  int64_t tile_margin() const override { return 32; }
  std::pair<torch::Tensor, torch::Tensor> test_pairs(const torch::Tensor& examples) override;
  Picture translation_picture(const Dataset& test, int64_t n) override;

  UNet& generator() { return generator_; }
  PatchDiscriminator& discriminator() { return discriminator_; }

 private:
  // G on (N, Cin, H, W) in [-1, 1] of any size, eval mode.
  torch::Tensor generate(const torch::Tensor& input);

  Pix2PixOptions options_;
  torch::Device device_;
  UNet generator_;
  PatchDiscriminator discriminator_;
  Optimizer optimizer_g_, optimizer_d_;
};

}  // namespace deepgen
