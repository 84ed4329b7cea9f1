#include "deepgen/models/dncnn.h"
#include "deepgen/nn/batch_norm.h"
#include "deepgen/core/batch_shard.h"

#include <cmath>

#include "deepgen/models/registry.h"
#include "deepgen/core/error.h"
#include "deepgen/core/runtime.h"
#include "deepgen/core/torch_compat.h"
#include "deepgen/data/natural_images.h"
#include "deepgen/nn/image_quality.h"

namespace deepgen {
namespace nn = torch::nn;

const OptionSchema<DnCnnOptions>& dncnn_options() {
  static const auto schema = OptionSchema<DnCnnOptions>()
      .positive("sigma", &DnCnnOptions::sigma, "Fixed noise level (0-255 scale)")
      .add([] {
             OptionField f;
             f.key = "sigma_range", f.flag = "--sigma-range", f.type = OptionType::kRealList, f.list_size = 2;
             f.list_names = "MIN MAX", f.min = 0, f.max = 255;
             f.help = "Blind: MIN MAX, a new sigma per patch (e.g. 5 50)";
             return f;
           }(),
           [](DnCnnOptions& o, const nlohmann::json& range) {
             o.sigma_min = range.at(0).get<double>();
             o.sigma_max = range.at(1).get<double>();
             check(o.sigma_max > 0 && o.sigma_min <= o.sigma_max,
                   "--sigma-range: expected MIN MAX with 0 <= MIN <= MAX and MAX > 0, found ", o.sigma_min, " ", o.sigma_max);
           })
      .choice("sigma_sampling", &DnCnnOptions::sigma_sampling, {"uniform", "log-uniform"},
              "Blind: how sigma is drawn from the range: uniform (the paper's), or log-uniform (more low-noise patches)")
      .number("depth", &DnCnnOptions::depth, "3x3 conv layers (0 = 17, or 20 when blind)")
      .positive("width", &DnCnnOptions::width, "Feature maps of the hidden layers")
      .flag("batch_norm", &DnCnnOptions::batch_norm, "Leave out batch norm in the middle layers")
      .with([](OptionField& f) { f.flag = "--no-batch-norm", f.negated = true; })
      .choice("init", &DnCnnOptions::init, {"kaiming", "dirac"},
              "Middle layers' initialization: kaiming (He), or dirac (identity + N(0, 0.01): no plateau in deep or colour models)")
      .choice("precision", &DnCnnOptions::precision, {"fp32", "bf16"},
              "Training arithmetic: fp32, or bf16 (autocast; ~2.2x faster at width 32 on CPUs with AMX)")
      .from_data("sigma_min", &DnCnnOptions::sigma_min)
      .from_data("sigma_max", &DnCnnOptions::sigma_max)
      .from_data("channels", &DnCnnOptions::channels)
      .nested("optimizer", &DnCnnOptions::optimizer);
  return schema;
}
void to_json(nlohmann::json& j, const DnCnnOptions& o) { j = dncnn_options().to_json(o); }
void from_json(const nlohmann::json& j, DnCnnOptions& o) { dncnn_options().from_json(j, o, "model options of 'dncnn'"); }

ResidualCnnImpl::ResidualCnnImpl(int64_t channels, int64_t depth_, int64_t width, bool batch_norm,
                                 const std::string& init)
    : depth(depth_) {
  check(init == "kaiming" || init == "dirac", "--init: expected kaiming or dirac, found '", init, "'");
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
    if (batch_norm) layers->push_back(SyncBatchNorm(nn::BatchNorm2dOptions(width).eps(1e-4)));
    layers->push_back(nn::ReLU(nn::ReLUOptions(true)));
  }
  layers->push_back(conv(width, channels, false));
  register_module("layers", layers);
  torch::NoGradGuard no_grad;
  std::vector<nn::Conv2dImpl*> convs;
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* c = module->as<nn::Conv2d>()) convs.push_back(c);
  }
  for (size_t k = 0; k < convs.size(); ++k) {
    nn::Conv2dImpl* c = convs[k];
    if (init == "dirac" && k > 0 && k + 1 < convs.size()) {  // the middle layers
      nn::init::dirac_(c->weight);
      c->weight.add_(torch::randn_like(c->weight) * 0.01);
    } else {
      nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanIn, torch::kReLU);
    }
    if (c->bias.defined()) nn::init::zeros_(c->bias);
  }
  // The last layer starts near zero, so the net starts as the identity (R(x) ~ 0) instead of adding
  // a large random residual that the first hundreds of steps would spend removing.
  layers->ptr(layers->size() - 1)->as<nn::Conv2d>()->weight.mul_(0.01);
}

torch::Tensor ResidualCnnImpl::forward(const torch::Tensor& x) { return layers->forward(x); }

torch::Tensor ResidualCnnImpl::infer(const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  auto format = x.device().is_cpu() ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  auto y = x.contiguous(format);
  torch::Tensor weight, bias;  // the convolution waiting for its batch norm and ReLU, if they follow
  auto convolve = [&](bool relu) {
    y = torch_compat::conv2d_relu(y, weight.contiguous(format), bias, /*padding=*/1, relu);
    weight = bias = torch::Tensor();
  };
  for (const auto& layer : layers->children()) {
    if (auto* conv = layer->as<nn::Conv2d>()) {
      if (weight.defined()) convolve(false);
      weight = conv->weight, bias = conv->bias;
    } else if (auto* bn = layer->as<SyncBatchNorm>()) {
      check(weight.defined(), "ResidualCnn::infer: a batch norm without a convolution before it");
      auto gain = torch::rsqrt(bn->running_var + bn->options.eps());
      if (bn->weight.defined()) gain = gain * bn->weight;
      auto shift = -bn->running_mean * gain;
      if (bias.defined()) shift = shift + bias * gain;
      if (bn->bias.defined()) shift = shift + bn->bias;
      weight = weight * gain.view({-1, 1, 1, 1}), bias = shift;
    } else {
      check(layer->as<nn::ReLU>() != nullptr, "ResidualCnn::infer: unexpected layer ", layer->name());
      if (weight.defined()) {
        convolve(true);
      } else {
        y = y.relu();
      }
    }
  }
  if (weight.defined()) convolve(false);
  return y.contiguous();
}

torch::Tensor ResidualCnnImpl::forward_train(const torch::Tensor& x, bool bf16) {
  if (!bf16) return forward(x);
  AutocastScope autocast(x.device(), true);
  return forward(x.contiguous(torch::MemoryFormat::ChannelsLast)).to(torch::kFloat);
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
  auto u = batch_rand({n}, tensor_options);  // (n) in [0, 1)
  if (o.sigma_sampling == "log-uniform") {
    const double lo = std::log(o.sigma_min), hi = std::log(o.sigma_max);
    return (u * (hi - lo) + lo).exp().clamp(o.sigma_min, o.sigma_max);  // clamp: exp(log x) may miss x by an ulp
  }
  return u * (o.sigma_max - o.sigma_min) + o.sigma_min;
}

DnCnnFamily::DnCnnFamily(const DnCnnOptions& options, torch::Device device)
    : options_(resolved(options)),
      device_(device),
      net_(options_.channels, options_.depth, options_.width, options_.batch_norm, options_.init),
      optimizer_((net_->to(device), net_->parameters()), options_.optimizer),
      bf16_(parse_precision(options_.precision)) {
  if (bf16_) to_channels_last(*net_);
}

StepMetrics DnCnnFamily::train_step(const torch::Tensor& images, const torch::Tensor&) {
  net_->train();
  auto clean = random_dihedral(images);
  auto sigmas = draw_sigmas(options_, clean.size(0), clean.options()).view({-1, 1, 1, 1}) / 255.0;  // (N,1,1,1)
  auto noise = batch_randn_like(clean) * sigmas;
  auto noisy = clean + noise;
  auto residual = net_->forward_train(noisy, bf16_);
  auto loss = dncnn_loss(residual, noise);
  optimizer_.step(loss);
  torch::NoGradGuard no_grad;
  return {{"loss", metric(loss)}, {"psnr", metric(psnr(noisy - residual, clean).mean())}};
}

Metrics DnCnnFamily::evaluate(const Dataset& data, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  net_->eval();
  const std::vector<double> sigmas = options_.measured_sigmas();
  Metrics metrics;
  double psnr_sum = 0;
  for (const double sigma : sigmas) {
    Metrics total = sum_over_split(data.size(), batch_size, [&](int64_t start, int64_t n) -> StepMetrics {
      auto clean = data.images.narrow(0, start, n);
      auto noisy = add_gaussian_noise(clean, sigma, /*seed=*/uint64_t(start));
      auto residual = net_->infer(noisy);
      return {{"loss", metric(dncnn_loss(residual, noisy - clean)) * double(n)},
              {"denoised", metric(psnr(noisy - residual, clean).mean()) * double(n)},
              {"noisy", metric(psnr(noisy, clean).mean()) * double(n)}};
    });
    const double loss = total["loss"], denoised = total["denoised"], noisy_psnr = total["noisy"];
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
  auto y = noisy.to(device_);
  return y - net_->infer(y);  // eval-mode statistics whatever mode the net is in
}

std::map<std::string, Picture> DnCnnFamily::pictures(const Dataset& test) {
  const int64_t n = std::min<int64_t>(8, test.size());
  if (n == 0) return {};
  auto clean = test.images.narrow(0, 0, n);
  auto noisy = add_gaussian_noise(clean, options_.blind() ? 25.0 : options_.sigma, /*seed=*/0);
  auto rows = torch::cat({clean, noisy, denoise(noisy)});  // 3 x (n, C, S, S) -> (3n, C, S, S)
  return {{"denoised", {to_pixels(rows, pixel_range()), n}}};
}


void DnCnnFamily::save(torch::serialize::OutputArchive& archive) { save_net_and_optimizer(archive, *net_, optimizer_); }

void DnCnnFamily::load(torch::serialize::InputArchive& archive) {
  load_net_and_optimizer(archive, *net_, optimizer_, device_);
  if (bf16_) to_channels_last(*net_);
}

namespace {
[[maybe_unused]] const bool registered_dncnn = [] {
  ModelSpec spec = patch_model<DnCnnOptions, DnCnnFamily>(
      "dncnn", "DnCNN residual denoiser (Zhang et al. 2017): fixed --sigma or blind --sigma-range", dncnn_options(), 40);
  spec.hint = "it denoises images; use `deepgen denoise RUN IN.png OUT.png`";
  spec.check_given = [](const OptionContext& c) {
    check(!c.given.contains("sigma") || !c.given.contains("sigma_range"),
          "--sigma and --sigma-range: give one (a fixed noise level, or the range of a blind model)");
    check(!c.given.contains("sigma_sampling") || c.given.contains("sigma_range"),
          "--sigma-sampling is for a blind model: give --sigma-range MIN MAX with it");
  };
  return register_model(std::move(spec), /*order=*/80);
}();
}  // namespace

}  // namespace deepgen
