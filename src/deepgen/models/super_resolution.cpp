#include "deepgen/models/super_resolution.h"

#include "deepgen/core/error.h"
#include "deepgen/core/runtime.h"
#include "deepgen/data/natural_images.h"
#include "deepgen/evaluation/image_quality.h"

namespace deepgen {

void to_json(nlohmann::json& j, const SrOptions& o) {
  j = {{"channels", o.channels}, {"scale", o.scale}, {"depth", o.depth}, {"width", o.width}, {"precision", o.precision},
       {"optimizer", o.optimizer}};
}
void from_json(const nlohmann::json& j, SrOptions& o) {
  o.channels = j.value("channels", o.channels);
  o.scale = j.value("scale", o.scale);
  o.depth = j.value("depth", o.depth);
  o.width = j.value("width", o.width);
  o.precision = j.value("precision", o.precision);
  o.optimizer = j.value("optimizer", o.optimizer);
}

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

Metrics SrFamily::train_step(const torch::Tensor& images, const torch::Tensor&) {
  net_->train();
  auto high = random_dihedral(images);
  auto up = degrade(high, options_.scale).first;
  auto output = up + net_->forward_train(up, bf16_);
  auto loss = sr_loss(output, high);
  optimizer_.step(loss);
  torch::NoGradGuard no_grad;
  return {{"loss", loss.item<double>()}, {"psnr", psnr(output.clamp(0, 1), high).mean().item<double>()}};
}

Metrics SrFamily::evaluate(const Dataset& data, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  net_->eval();
  double loss = 0, model = 0, bicubic = 0;
  for (int64_t start = 0; start < data.size(); start += batch_size) {
    const int64_t n = std::min(batch_size, data.size() - start);
    auto high = data.images.narrow(0, start, n);
    auto up = degrade(high, options_.scale).first;
    auto output = up + net_->forward(up);
    loss += sr_loss(output, high).item<double>() * double(n);
    model += psnr(output.clamp(0, 1), high).mean().item<double>() * double(n);
    bicubic += psnr(up.clamp(0, 1), high).mean().item<double>() * double(n);
  }
  const double count = double(std::max<int64_t>(1, data.size()));
  return {{"loss", loss / count}, {"psnr", model / count}, {"psnr_bicubic", bicubic / count}};
}

torch::Tensor SrFamily::refine(const torch::Tensor& up) {
  torch::NoGradGuard no_grad;
  net_->eval();
  auto x = up.to(device_);
  return x + net_->forward(x);
}

std::map<std::string, Picture> SrFamily::pictures(const Dataset& test) {
  const int64_t n = std::min<int64_t>(8, test.size());
  if (n == 0) return {};
  auto high = test.images.narrow(0, 0, n);
  auto up = degrade(high, options_.scale).first;
  auto rows = torch::cat({up, refine(up), high});  // 3 x (n, C, S, S) -> (3n, C, S, S)
  return {{"upscaled", {to_pixels(rows, pixel_range()), n}}};
}

torch::Tensor SrFamily::sample(int64_t, uint64_t) {
  fail("model 'sr' upscales images and does not generate them; use `deepgen upscale RUN IN.png OUT.png`");
}

void SrFamily::save(torch::serialize::OutputArchive& archive) { save_net_and_optimizer(archive, *net_, optimizer_); }

void SrFamily::load(torch::serialize::InputArchive& archive) {
  load_net_and_optimizer(archive, *net_, optimizer_, device_);
  if (bf16_) to_channels_last(*net_);
}

}  // namespace deepgen
