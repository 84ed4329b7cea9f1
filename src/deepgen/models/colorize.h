// Colorization with an autoencoder: a U-Net (pix2pix.h's, without dropout) predicts the chroma of an
// image from its luminance, in YCbCr (ITU-R 601, full range: Y in [0, 1], Cb and Cr in [-0.5, 0.5]).
// Trained on random patches of natural photographs with an L1 or L2 loss on the chroma; the colour
// image is Y with the predicted Cb and Cr, converted back to RGB. The lectures' colorizing autoencoder;
// regression to the mean makes its colours muted (Zhang, Isola & Efros 2016 classify colours instead).
#pragma once

#include <torch/torch.h>

#include "deepgen/core/options.h"
#include "deepgen/data/paired_images.h"  // rgb_to_ycbcr, ycbcr_to_rgb
#include "deepgen/models/family.h"
#include "deepgen/models/pix2pix.h"

namespace deepgen {

struct ColorizeOptions {
  int64_t channels = 3;         // set from the data: must be RGB
  int64_t g_features = 32;      // U-Net features at the outermost level
  int64_t depth = 5;            // U-Net levels: patches and tiles are padded to multiples of 2^depth
  std::string loss = "l1";      // l1 | l2, on the chroma
  OptimizerOptions optimizer{"adam", 1e-3};
};
void to_json(nlohmann::json& j, const ColorizeOptions& o);
void from_json(const nlohmann::json& j, ColorizeOptions& o);
const OptionSchema<ColorizeOptions>& colorize_options();

class ColorizeFamily : public Family, public Translator {
 public:
  ColorizeFamily(const ColorizeOptions& options, torch::Device device);

  std::string kind() const override { return "colorize"; }
  nlohmann::json options() const override { return options_; }
  PixelRange pixel_range() const override { return PixelRange::kUnit; }
  bool conv_heavy() const override { return true; }
  // images: RGB patches (B, 3, S, S), S a power of two from 32 to 256; a random symmetry each.
  StepMetrics train_step(const torch::Tensor& images, const torch::Tensor& labels) override;
  // loss; psnr and ssim of the RGB result; psnr_gray (the luminance alone) and psnr_constant (the
  // luminance with the data's mean chroma: an oracle constant that favours the baseline); colourfulness
  // of the result, of the originals and of the constant baseline (Hasler & Suesstrunk 2003).
  Metrics evaluate(const Dataset& data, int64_t batch_size) override;
  std::map<std::string, Picture> pictures(const Dataset& test) override;  // "colorized"
  std::vector<Optimizer*> optimizers() override { return {&optimizer_}; }
  void save(torch::serialize::OutputArchive& archive) override;
  void load(torch::serialize::InputArchive& archive) override;

  std::vector<std::string> directions() const override { return {"a2b"}; }
  int64_t input_channels(const std::string& direction) const override;
  // Gray (N, 1, H, W) -> RGB (N, 3, H, W), any size.
  torch::Tensor translate(const torch::Tensor& images, const std::string& direction) override;
  int64_t tile_margin() const override { return 32; }
  std::pair<torch::Tensor, torch::Tensor> test_pairs(const torch::Tensor& examples) override;
  Picture translation_picture(const Dataset& test, int64_t n) override;

 private:
  torch::Tensor chroma_of(const torch::Tensor& luma);  // (N, 1, H, W) -> (N, 2, H, W), eval mode, any size

  ColorizeOptions options_;
  torch::Device device_;
  UNet net_;  // Y -> (Cb, Cr) / 0.5 (tanh)
  Optimizer optimizer_;
};

}  // namespace deepgen
