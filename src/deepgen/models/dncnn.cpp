#include "deepgen/models/dncnn.h"

#include <cmath>

#include "deepgen/core/error.h"
#include "deepgen/core/runtime.h"
#include "deepgen/data/natural_images.h"
#include "deepgen/evaluation/image_quality.h"

namespace deepgen {
namespace nn = torch::nn;

ResidualCnnImpl::ResidualCnnImpl(int64_t channels, int64_t depth_, int64_t width, bool batch_norm) : depth(depth_) {
  check(depth >= 2, "--depth: expected at least 2 convolution layers, found ", depth);
  check(width >= 1, "--width: expected a positive number of feature maps, found ", width);
  check(channels == 1 || channels == 3, "expected 1 or 3 image channels, found ", channels);
  auto conv = [](int64_t in, int64_t out, bool bias) {
    return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).bias(bias));  // 'same': (N,in,H,W) -> (N,out,H,W)
  };
  layers = nn::Sequential();
  layers->push_back(conv(channels, width, true));
  layers->push_back(nn::ReLU(nn::ReLUOptions(true)));
  for (int64_t i = 0; i < depth - 2; ++i) {
    layers->push_back(conv(width, width, !batch_norm));
    if (batch_norm) layers->push_back(nn::BatchNorm2d(nn::BatchNorm2dOptions(width).eps(1e-4)));
    layers->push_back(nn::ReLU(nn::ReLUOptions(true)));
  }
  layers->push_back(conv(width, channels, false));
  register_module("layers", layers);
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* c = module->as<nn::Conv2d>()) {
      nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanIn, torch::kReLU);
      if (c->bias.defined()) nn::init::zeros_(c->bias);
    }
  }
  // The last layer starts near zero, so the net starts as the identity (R(x) ~ 0) instead of adding
  // a large random residual that the first hundreds of steps would spend removing.
  torch::NoGradGuard no_grad;
  layers->ptr(layers->size() - 1)->as<nn::Conv2d>()->weight.mul_(0.01);
}

torch::Tensor ResidualCnnImpl::forward(const torch::Tensor& x) { return layers->forward(x); }

torch::Tensor ResidualCnnImpl::forward_train(const torch::Tensor& x, bool bf16) {
  if (!bf16) return forward(x);
  AutocastScope autocast(x.device(), true);
  return forward(x.contiguous(torch::MemoryFormat::ChannelsLast)).to(torch::kFloat);
}

void to_json(nlohmann::json& j, const DnCnnOptions& o) {
  j = {{"channels", o.channels}, {"depth", o.depth}, {"width", o.width}, {"batch_norm", o.batch_norm},
       {"sigma", o.sigma}, {"sigma_min", o.sigma_min}, {"sigma_max", o.sigma_max},
       {"sigma_sampling", o.sigma_sampling}, {"precision", o.precision}, {"optimizer", o.optimizer}};
}
void from_json(const nlohmann::json& j, DnCnnOptions& o) {
  o.channels = j.value("channels", o.channels);
  o.depth = j.value("depth", o.depth);
  o.width = j.value("width", o.width);
  o.batch_norm = j.value("batch_norm", o.batch_norm);
  o.sigma = j.value("sigma", o.sigma);
  o.sigma_min = j.value("sigma_min", o.sigma_min);
  o.sigma_max = j.value("sigma_max", o.sigma_max);
  o.sigma_sampling = j.value("sigma_sampling", o.sigma_sampling);  // runs before it existed: uniform
  o.precision = j.value("precision", o.precision);
  o.optimizer = j.value("optimizer", o.optimizer);
}

namespace {
DnCnnOptions resolved(DnCnnOptions o) {
  if (o.depth == 0) o.depth = o.blind() ? 20 : 17;
  if (o.blind()) {
    check(o.sigma_min >= 0 && o.sigma_min <= o.sigma_max, "--sigma-range: expected 0 <= MIN <= MAX, found ",
          o.sigma_min, " ", o.sigma_max);
    check(o.sigma_sampling == "uniform" || o.sigma_sampling == "log-uniform",
          "--sigma-sampling: expected uniform or log-uniform, found '", o.sigma_sampling, "'");
    check(o.sigma_sampling == "uniform" || o.sigma_min > 0,
          "--sigma-sampling log-uniform: needs a positive --sigma-range MIN (log 0 is -inf), found ", o.sigma_min);
  } else {
    check(o.sigma > 0, "--sigma: expected a positive noise level (0-255 scale), found ", o.sigma);
  }
  return o;
}
}  // namespace

torch::Tensor dncnn_loss(const torch::Tensor& residual, const torch::Tensor& noise) {
  return (residual - noise).pow(2).sum() / (2.0 * double(residual.size(0)));
}

torch::Tensor draw_sigmas(const DnCnnOptions& o, int64_t n, const torch::TensorOptions& tensor_options) {
  if (!o.blind()) return torch::full({n}, o.sigma, tensor_options);
  auto u = torch::rand({n}, tensor_options);  // (n) in [0, 1)
  if (o.sigma_sampling == "log-uniform") {
    const double lo = std::log(o.sigma_min), hi = std::log(o.sigma_max);
    return (u * (hi - lo) + lo).exp().clamp(o.sigma_min, o.sigma_max);  // clamp: exp(log x) may miss x by an ulp
  }
  return u * (o.sigma_max - o.sigma_min) + o.sigma_min;
}

DnCnnFamily::DnCnnFamily(const DnCnnOptions& options, torch::Device device)
    : options_(resolved(options)),
      device_(device),
      net_(options_.channels, options_.depth, options_.width, options_.batch_norm),
      optimizer_((net_->to(device), net_->parameters()), options_.optimizer),
      bf16_(parse_precision(options_.precision)) {
  if (bf16_) to_channels_last(*net_);
}

Metrics DnCnnFamily::train_step(const torch::Tensor& images, const torch::Tensor&) {
  net_->train();
  auto clean = random_dihedral(images);
  auto sigmas = draw_sigmas(options_, clean.size(0), clean.options()).view({-1, 1, 1, 1}) / 255.0;  // (N,1,1,1)
  auto noise = torch::randn_like(clean) * sigmas;
  auto noisy = clean + noise;
  auto residual = net_->forward_train(noisy, bf16_);
  auto loss = dncnn_loss(residual, noise);
  optimizer_.step(loss);
  torch::NoGradGuard no_grad;
  return {{"loss", loss.item<double>()}, {"psnr", psnr(noisy - residual, clean).mean().item<double>()}};
}

Metrics DnCnnFamily::evaluate(const Dataset& data, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  net_->eval();
  const std::vector<double> sigmas = options_.measured_sigmas();
  Metrics metrics;
  double psnr_sum = 0;
  for (const double sigma : sigmas) {
    double loss = 0, denoised = 0, noisy_psnr = 0;
    for (int64_t start = 0; start < data.size(); start += batch_size) {
      const int64_t n = std::min(batch_size, data.size() - start);
      auto clean = data.images.narrow(0, start, n);
      auto noisy = add_gaussian_noise(clean, sigma, /*seed=*/uint64_t(start));
      auto residual = net_->forward(noisy);
      loss += dncnn_loss(residual, noisy - clean).item<double>() * double(n);
      denoised += psnr(noisy - residual, clean).mean().item<double>() * double(n);
      noisy_psnr += psnr(noisy, clean).mean().item<double>() * double(n);
    }
    const double count = double(std::max<int64_t>(1, data.size()));
    const std::string suffix = options_.blind() ? "_s" + std::to_string(int(sigma)) : "";
    metrics["psnr" + suffix] = denoised / count;
    metrics["psnr_noisy" + suffix] = noisy_psnr / count;
    psnr_sum += denoised / count;
    if (!options_.blind() || sigma == 25) metrics["loss"] = loss / count;
  }
  if (options_.blind()) metrics["psnr"] = psnr_sum / double(sigmas.size());
  return metrics;
}

torch::Tensor DnCnnFamily::denoise(const torch::Tensor& noisy) {
  torch::NoGradGuard no_grad;
  net_->eval();
  auto y = noisy.to(device_);
  return y - net_->forward(y);
}

std::map<std::string, Picture> DnCnnFamily::pictures(const Dataset& test) {
  const int64_t n = std::min<int64_t>(8, test.size());
  if (n == 0) return {};
  auto clean = test.images.narrow(0, 0, n);
  auto noisy = add_gaussian_noise(clean, options_.blind() ? 25.0 : options_.sigma, /*seed=*/0);
  auto rows = torch::cat({clean, noisy, denoise(noisy)});  // 3 x (n, C, S, S) -> (3n, C, S, S)
  return {{"denoised", {to_pixels(rows, pixel_range()), n}}};
}

torch::Tensor DnCnnFamily::sample(int64_t, uint64_t) {
  fail("model 'dncnn' is a denoiser and does not generate images; use `deepgen denoise RUN IN.png OUT.png`");
}

void DnCnnFamily::save(torch::serialize::OutputArchive& archive) { save_net_and_optimizer(archive, *net_, optimizer_); }

void DnCnnFamily::load(torch::serialize::InputArchive& archive) {
  load_net_and_optimizer(archive, *net_, optimizer_, device_);
  if (bf16_) to_channels_last(*net_);
}

}  // namespace deepgen
