#include "deepgen/models/pca.h"

#include "deepgen/models/registry.h"
#include "deepgen/core/error.h"

namespace deepgen {

const OptionSchema<PcaOptions>& pca_options() {
  static const auto schema = OptionSchema<PcaOptions>()
      .positive("code_size", &PcaOptions::code_size, "Principal components kept")
      .from_data("channels", &PcaOptions::channels)
      .from_data("image_size", &PcaOptions::image_size);
  return schema;
}
void to_json(nlohmann::json& j, const PcaOptions& o) { j = pca_options().to_json(o); }
void from_json(const nlohmann::json& j, PcaOptions& o) { pca_options().from_json(j, o, "model options of 'pca'"); }


PcaFamily::PcaFamily(const PcaOptions& options, torch::Device device) : options_(options), device_(device) {
  const int64_t pixels = options.channels * options.image_size * options.image_size;
  check(options.code_size >= 1 && options.code_size <= pixels, "--code-size: PCA keeps 1 to ", pixels,
        " components (the pixels per image), found ", options.code_size);
  check(pixels <= 16384, "pca: ", pixels, " pixels per image make a covariance too large for the closed form; ",
        "use --image-size 64 or smaller");
  auto dbl = torch::TensorOptions().dtype(torch::kDouble).device(device);
  sum_ = torch::zeros({pixels}, dbl);
  outer_ = torch::zeros({pixels, pixels}, dbl);
  count_ = torch::zeros({}, dbl);
  mean_ = torch::zeros({pixels}, torch::TensorOptions().device(device));
  components_ = torch::zeros({options.code_size, pixels}, torch::TensorOptions().device(device));
  variances_ = torch::zeros({options.code_size}, torch::TensorOptions().device(device));
}

StepMetrics PcaFamily::train_step(const torch::Tensor& images, const torch::Tensor&) {
  torch::NoGradGuard no_grad;
  auto x = images.flatten(1).to(torch::kDouble);  // (B, C*H*W)
  sum_ += x.sum(0);
  outer_ += x.t().matmul(x);
  count_ += double(x.size(0));
  dirty_ = true;
  auto running_mean = (sum_ / count_).to(torch::kFloat);
  return {{"loss", metric((images.flatten(1) - running_mean).pow(2).sum(1).mean())}};
}

void PcaFamily::fit() {
  torch::NoGradGuard no_grad;
  check(count_.item<double>() >= 2, "pca: needs at least 2 training images");
  auto mean = sum_ / count_;
  // Covariance = E[x x^T] - mean mean^T, symmetric positive semi-definite.
  auto covariance = outer_ / count_ - torch::outer(mean, mean);
  auto [eigenvalues, eigenvectors] = torch::linalg_eigh(covariance, "L");  // ascending
  const int64_t k = options_.code_size;
  auto top = eigenvectors.narrow(1, eigenvectors.size(1) - k, k).flip({1});   // (D, k), largest first
  variances_ = eigenvalues.narrow(0, eigenvalues.size(0) - k, k).flip({0}).clamp_min(0).to(torch::kFloat);
  components_ = top.t().contiguous().to(torch::kFloat);  // (k, D)
  mean_ = mean.to(torch::kFloat);
  dirty_ = false;
}

torch::Tensor PcaFamily::encode(const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  return (images.to(device_).flatten(1) - mean_).matmul(components_.t());  // (B, D) x (D, k) -> (B, k)
}

torch::Tensor PcaFamily::decode(const torch::Tensor& codes) {
  torch::NoGradGuard no_grad;
  auto flat = codes.to(device_).matmul(components_) + mean_;  // (B, k) x (k, D) -> (B, D)
  return flat.view({codes.size(0), options_.channels, options_.image_size, options_.image_size});
}

Metrics PcaFamily::evaluate(const Dataset& data, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  if (dirty_) fit();
  Metrics total = sum_over_split(data.size(), batch_size, [&](int64_t start, int64_t count) -> StepMetrics {
    auto images = data.images.narrow(0, start, count);
    return {{"squared", (decode(encode(images)) - images).pow(2).sum()}};
  });
  const double squared = total["squared"];
  const double n = double(std::max<int64_t>(1, data.size()));
  const double pixels = double(mean_.size(0));
  auto total_variance = (torch::diagonal(outer_ / count_ - torch::outer(sum_ / count_, sum_ / count_))).sum();
  return {{"loss", squared / n},
          {"mse", squared / (n * pixels)},
          {"explained_variance", variances_.sum().item<double>() / total_variance.item<double>()}};
}

std::map<std::string, Picture> PcaFamily::pictures(const Dataset& test) {
  if (dirty_) fit();
  std::map<std::string, Picture> out;
  if (test.size() > 0) out["reconstructions"] = reconstruction_picture(*this, test);
  // The mean image and the leading components, scaled to [0, 1] each, as the classic "eigen-images".
  const int64_t shown = std::min<int64_t>(15, options_.code_size);
  auto components = components_.narrow(0, 0, shown);
  auto low = std::get<0>(components.min(1, true)), high = std::get<0>(components.max(1, true));
  auto scaled = (components - low) / (high - low).clamp_min(1e-8);
  auto images = torch::cat({mean_.unsqueeze(0), scaled}).view({shown + 1, options_.channels, options_.image_size,
                                                                 options_.image_size});
  out["components"] = {to_pixels(images, PixelRange::kUnit), 8};
  return out;
}

torch::Tensor PcaFamily::sample(int64_t n, uint64_t seed) {
  if (dirty_) fit();
  auto generator = at::detail::createCPUGenerator(seed);
  auto z = torch::randn({n, options_.code_size}, generator, torch::kFloat).to(device_) * variances_.sqrt();
  return decode(z).clamp(0.0, 1.0);
}

void PcaFamily::save(torch::serialize::OutputArchive& archive) {
  if (dirty_) fit();
  archive.write("sum", sum_, true);
  archive.write("outer", outer_, true);
  archive.write("count", count_, true);
  archive.write("mean", mean_, true);
  archive.write("components", components_, true);
  archive.write("variances", variances_, true);
}

void PcaFamily::load(torch::serialize::InputArchive& archive) {
  archive.read("sum", sum_, true);
  archive.read("outer", outer_, true);
  archive.read("count", count_, true);
  archive.read("mean", mean_, true);
  archive.read("components", components_, true);
  archive.read("variances", variances_, true);
  for (auto* t : {&sum_, &outer_, &count_, &mean_, &components_, &variances_}) *t = t->to(device_);
  check(components_.size(0) == options_.code_size, "pca checkpoint: expected ", options_.code_size,
        " components, found ", components_.size(0));
  dirty_ = false;
}

namespace {
[[maybe_unused]] const bool registered_pca = [] {
  ModelSpec spec = image_model<PcaOptions, PcaFamily>(
      "pca", "PCA, the linear baseline (closed form; one epoch suffices)", pca_options());
  spec.has_optimizer = false;
  return register_model(std::move(spec), /*order=*/30);
}();
}  // namespace

}  // namespace deepgen
