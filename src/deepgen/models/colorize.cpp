#include "deepgen/models/colorize.h"

#include "deepgen/core/error.h"
#include "deepgen/data/natural_images.h"
#include "deepgen/data/paired_images.h"
#include "deepgen/models/registry.h"
#include "deepgen/nn/image_quality.h"

namespace deepgen {

const OptionSchema<ColorizeOptions>& colorize_options() {
  static const auto schema = OptionSchema<ColorizeOptions>()
      .positive("g_features", &ColorizeOptions::g_features, "U-Net features at the outermost level")
      .number("depth", &ColorizeOptions::depth, "U-Net levels (patches: a multiple of 2^depth)", 2, 8)
      .choice("loss", &ColorizeOptions::loss, {"l1", "l2"}, "Loss on the chroma: l1 or l2 (mean squared error)")
      .from_data("channels", &ColorizeOptions::channels)
      .nested("optimizer", &ColorizeOptions::optimizer);
  return schema;
}
void to_json(nlohmann::json& j, const ColorizeOptions& o) { j = colorize_options().to_json(o); }
void from_json(const nlohmann::json& j, ColorizeOptions& o) { colorize_options().from_json(j, o, "model options of 'colorize'"); }

namespace {
const ColorizeOptions& validated(const ColorizeOptions& o) {
  check(o.channels == 3, "colorize: needs colour (RGB) images, found ", o.channels, "-channel data; give --channels 3 ",
        "and a folder of colour photographs");
  check(o.loss == "l1" || o.loss == "l2", "--loss: expected l1 or l2, found '", o.loss, "'");
  return o;
}
torch::Tensor chroma_loss(const std::string& loss, const torch::Tensor& predicted, const torch::Tensor& target) {
  return loss == "l1" ? (predicted - target).abs().mean() : (predicted - target).pow(2).mean();
}
}  // namespace

ColorizeFamily::ColorizeFamily(const ColorizeOptions& options, torch::Device device)
    : options_(validated(options)),
      device_(device),
      net_(1, 2, options_.depth, options_.g_features, /*dropout=*/0.0),
      optimizer_((net_->to(device), net_->parameters()), options_.optimizer) {}

StepMetrics ColorizeFamily::train_step(const torch::Tensor& images, const torch::Tensor&) {
  net_->train();
  const auto ycbcr = rgb_to_ycbcr(random_dihedral(images));
  const auto luma = ycbcr.narrow(1, 0, 1), chroma = ycbcr.narrow(1, 1, 2);
  const auto predicted = net_->forward(luma) * 0.5;  // tanh -> [-0.5, 0.5]
  auto loss = chroma_loss(options_.loss, predicted, chroma);
  optimizer_.step(loss);
  torch::NoGradGuard no_grad;
  const auto rgb = ycbcr_to_rgb(torch::cat({luma, predicted}, 1)).clamp(0, 1);
  return {{"loss", metric(loss)}, {"psnr", metric(psnr(rgb, ycbcr_to_rgb(ycbcr).clamp(0, 1)).mean())}};
}

torch::Tensor ColorizeFamily::chroma_of(const torch::Tensor& luma) {
  torch::NoGradGuard no_grad;
  net_->eval();
  auto x = pad_to_multiple(luma.to(device_), int64_t(1) << options_.depth);
  return (net_->forward(x) * 0.5).narrow(2, 0, luma.size(2)).narrow(3, 0, luma.size(3));
}

Metrics ColorizeFamily::evaluate(const Dataset& data, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  // The constant baseline's chroma: the mean over these images (an oracle: it knows their average colour).
  const auto mean_chroma =
      data.size() > 0 ? rgb_to_ycbcr(data.images).narrow(1, 1, 2).mean({0, 2, 3}, /*keepdim=*/true) : torch::Tensor();
  Metrics metrics = sum_over_split(data.size(), batch_size, [&](int64_t start, int64_t n) -> StepMetrics {
    const auto truth = data.images.narrow(0, start, n);
    const auto ycbcr = rgb_to_ycbcr(truth);
    const auto luma = ycbcr.narrow(1, 0, 1);
    const auto predicted = chroma_of(luma);
    const auto result = ycbcr_to_rgb(torch::cat({luma, predicted}, 1)).clamp(0, 1);
    const auto constant = ycbcr_to_rgb(torch::cat({luma, mean_chroma.expand_as(predicted)}, 1)).clamp(0, 1);
    double ssim_sum = 0;
    for (int64_t i = 0; i < n; ++i) ssim_sum += ssim(result[i], truth[i]);
    return {{"loss", chroma_loss(options_.loss, predicted, ycbcr.narrow(1, 1, 2)) * double(n)},
            {"psnr", psnr(result, truth).sum()},
            {"ssim", metric(ssim_sum, truth.device())},
            {"psnr_gray", psnr(luma.expand_as(truth), truth).sum()},
            {"psnr_constant", psnr(constant, truth).sum()},
            {"colourfulness", colourfulness(result).sum()},
            {"colourfulness_truth", colourfulness(truth).sum()},
            {"colourfulness_constant", colourfulness(constant).sum()}};
  });
  const double count = double(std::max<int64_t>(1, data.size()));
  for (auto& [name, value] : metrics) value /= count;
  return metrics;
}

int64_t ColorizeFamily::input_channels(const std::string& direction) const {
  check(direction == "a2b", "--direction ", direction, ": a colorize run translates one way, gray to colour; use a2b");
  return 1;
}

torch::Tensor ColorizeFamily::translate(const torch::Tensor& images, const std::string& direction) {
  check(images.dim() == 4 && images.size(1) == input_channels(direction),
        "translate: expected gray images (N, 1, H, W), found ", images.sizes());
  const auto luma = images.to(device_);
  return ycbcr_to_rgb(torch::cat({luma, chroma_of(luma)}, 1)).clamp(0, 1);
}

std::pair<torch::Tensor, torch::Tensor> ColorizeFamily::test_pairs(const torch::Tensor& examples) {
  return {luminance(examples), examples};
}

Picture ColorizeFamily::translation_picture(const Dataset& test, int64_t n) {
  n = std::min(n, test.size());
  check(n > 0, "colorized: the test split is empty");
  const int64_t columns = std::min<int64_t>(8, n);
  std::vector<torch::Tensor> rows;
  for (int64_t start = 0; start + columns <= n; start += columns) {
    const auto truth = test.images.narrow(0, start, columns);
    const auto gray = luminance(truth);
    rows.push_back(gray.expand({-1, 3, -1, -1}));
    rows.push_back(translate(gray, "a2b"));
    rows.push_back(truth);
  }
  return {to_pixels(torch::cat(rows), pixel_range()), columns};  // per 8 patches: gray, colorized, original
}

std::map<std::string, Picture> ColorizeFamily::pictures(const Dataset& test) {
  if (test.size() == 0) return {};
  return {{"colorized", translation_picture(test, 16)}};
}

void ColorizeFamily::save(torch::serialize::OutputArchive& archive) { save_net_and_optimizer(archive, *net_, optimizer_); }

void ColorizeFamily::load(torch::serialize::InputArchive& archive) {
  load_net_and_optimizer(archive, *net_, optimizer_, device_);
}

namespace {
[[maybe_unused]] const bool registered_colorize = [] {
  ModelSpec spec = patch_model<ColorizeOptions, ColorizeFamily>(
      "colorize", "Colorization autoencoder: a U-Net predicts the chroma (YCbCr) of natural photographs from their luminance",
      colorize_options(), 64);
  spec.hint = "it colours gray images; use `deepgen translate RUN GRAY.png OUT.png`";
  spec.load_data = [](const DataRequest& request, nlohmann::json& options) {
    check(request.data.channels == 0 || request.data.channels == 3, "--channels ", request.data.channels,
          ": colorize trains on colour photographs (3 channels)");
    return load_patch_data(request, 64, options, /*colour_only=*/true);
  };
  spec.check_data = [](const nlohmann::json& options, const DataSplits& data) {
    const int64_t multiple = int64_t(1) << options.at("depth").get<int64_t>();
    check(data.image_size % multiple == 0, "--patch-size: colorize patches must be a multiple of 2^depth = ", multiple,
          ", found ", data.image_size, "; use e.g. --patch-size 64");
  };
  return register_model(std::move(spec), /*order=*/105);
}();
}  // namespace

}  // namespace deepgen
