#include "deepgen/models/super_resolution.h"

#include "deepgen/models/registry.h"
#include "deepgen/core/error.h"
#include "deepgen/core/runtime.h"
#include "deepgen/data/natural_images.h"
#include "deepgen/nn/image_quality.h"

namespace deepgen {

const OptionSchema<SrOptions>& sr_options() {
  static const auto schema = OptionSchema<SrOptions>()
      .number("scale", &SrOptions::scale, "Upscaling factor", 2, 4)
      .number("depth", &SrOptions::depth, "3x3 conv layers", 2, 1000)
      .positive("width", &SrOptions::width, "Feature maps of the hidden layers")
      .choice("precision", &SrOptions::precision, {"fp32", "bf16"}, "Training arithmetic: fp32 or bf16 (as for dncnn)")
      .from_data("channels", &SrOptions::channels)
      .nested("optimizer", &SrOptions::optimizer);
  return schema;
}
void to_json(nlohmann::json& j, const SrOptions& o) { j = sr_options().to_json(o); }
void from_json(const nlohmann::json& j, SrOptions& o) { sr_options().from_json(j, o, "model options of 'sr'"); }


namespace {
const SrOptions& validated(const SrOptions& o) {
  check(o.scale >= 2 && o.scale <= 4, "--scale: expected 2, 3 or 4, found ", o.scale);
  return o;
}
}  // namespace

torch::Tensor sr_loss(const torch::Tensor& output, const torch::Tensor& target) {
  return (output - target).pow(2).mean();
}

std::pair<torch::Tensor, torch::Tensor> degrade(const torch::Tensor& high, int64_t scale) {
  const int64_t h = high.size(2), w = high.size(3);
  check(h % scale == 0 && w % scale == 0, "super-resolution: patches of ", w, "x", h, " are not a multiple of the scale ",
        scale, "; use a --patch-size divisible by ", scale);
  auto low = quantize(resize(high, h / scale, w / scale, "bicubic"));
  return {resize(low, h, w, "bicubic"), low};
}

SrFamily::SrFamily(const SrOptions& options, torch::Device device)
    : options_(validated(options)),
      device_(device),
      net_(options_.channels, options_.depth, options_.width, /*batch_norm=*/false),
      optimizer_((net_->to(device), net_->parameters()), options_.optimizer),
      bf16_(parse_precision(options_.precision)) {
  if (bf16_) to_channels_last(*net_);
}

StepMetrics SrFamily::train_step(const torch::Tensor& images, const torch::Tensor&) {
  net_->train();
  auto high = random_dihedral(images);
  auto up = degrade(high, options_.scale).first;
  auto output = up + net_->forward_train(up, bf16_);
  auto loss = sr_loss(output, high);
  optimizer_.step(loss);
  torch::NoGradGuard no_grad;
  return {{"loss", metric(loss)}, {"psnr", metric(psnr(output.clamp(0, 1), high).mean())}};
}

Metrics SrFamily::evaluate(const Dataset& data, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  net_->eval();
  Metrics total = sum_over_split(data.size(), batch_size, [&](int64_t start, int64_t n) -> StepMetrics {
    auto high = data.images.narrow(0, start, n);
    auto up = degrade(high, options_.scale).first;
    auto output = up + net_->infer(up);
    return {{"loss", metric(sr_loss(output, high)) * double(n)},
            {"model", metric(psnr(output.clamp(0, 1), high).mean()) * double(n)},
            {"bicubic", metric(psnr(up.clamp(0, 1), high).mean()) * double(n)}};
  });
  const double loss = total["loss"], model = total["model"], bicubic = total["bicubic"];
  const double count = double(std::max<int64_t>(1, data.size()));
  return {{"loss", loss / count}, {"psnr", model / count}, {"psnr_bicubic", bicubic / count}};
}

torch::Tensor SrFamily::refine(const torch::Tensor& up) {
  torch::NoGradGuard no_grad;
  auto x = up.to(device_);
  return x + net_->infer(x);
}

std::map<std::string, Picture> SrFamily::pictures(const Dataset& test) {
  const int64_t n = std::min<int64_t>(8, test.size());
  if (n == 0) return {};
  auto high = test.images.narrow(0, 0, n);
  auto up = degrade(high, options_.scale).first;
  auto rows = torch::cat({up, refine(up), high});  // 3 x (n, C, S, S) -> (3n, C, S, S)
  return {{"upscaled", {to_pixels(rows, pixel_range()), n}}};
}


void SrFamily::save(torch::serialize::OutputArchive& archive) { save_net_and_optimizer(archive, *net_, optimizer_); }

void SrFamily::load(torch::serialize::InputArchive& archive) {
  load_net_and_optimizer(archive, *net_, optimizer_, device_);
  if (bf16_) to_channels_last(*net_);
}

namespace {
[[maybe_unused]] const bool registered_super_resolution = [] {
  ModelSpec spec = patch_model<SrOptions, SrFamily>(
      "sr", "Super-resolution, VDSR-style: bicubic upscaling plus a learned residual", sr_options(), 48);
  spec.hint = "it upscales images; use `deepgen upscale RUN IN.png OUT.png`";
  spec.check_data = [](const nlohmann::json& options, const DataSplits& data) {
    const int64_t scale = options.at("scale").get<int64_t>();
    check(data.image_size % scale == 0, "--patch-size: super-resolution patches must be a multiple of the scale ",
          scale, ", found ", data.image_size, "; use e.g. --patch-size 48");
  };
  return register_model(std::move(spec), /*order=*/90);
}();
}  // namespace

}  // namespace deepgen
