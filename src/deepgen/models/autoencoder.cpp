#include "deepgen/models/autoencoder.h"
#include "deepgen/core/batch_shard.h"

#include "deepgen/models/registry.h"
#include "deepgen/core/error.h"

namespace deepgen {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

const OptionSchema<AutoencoderOptions>& autoencoder_options() {
  static const auto schema = OptionSchema<AutoencoderOptions>()
      .choice("variant", &AutoencoderOptions::variant, {"plain", "sparse", "contractive", "denoising"},
              "plain, sparse, contractive or denoising")
      .choice("arch", &AutoencoderOptions::arch, {"dense", "conv"}, "dense or conv")
      .positive("code_size", &AutoencoderOptions::code_size,
                "Units in the code (under-complete below the pixel count, over-complete above)")
      .number("hidden", &AutoencoderOptions::hidden, "Dense: a ReLU layer of this width before the code (0 = one layer)")
      .scope([](const OptionContext& c) { return c.options.at("arch") == "dense" ? "" : "--arch dense"; })
      .choice("code_activation", &AutoencoderOptions::code_activation, {"sigmoid", "relu", "linear"},
              "sigmoid, relu or linear")
      .flag("tied", &AutoencoderOptions::tied, "Decoder weights = transposed encoder weights (dense)")
      .choice("recon", &AutoencoderOptions::recon, {"bce", "mse"}, "Reconstruction loss: bce (inputs in [0,1]) or mse")
      .number("sparsity", &AutoencoderOptions::sparsity, "sparse: L1 weight on the code")
      .scope([](const OptionContext& c) { return c.options.at("variant") == "sparse" ? "" : "--variant sparse"; })
      .number("contraction", &AutoencoderOptions::contraction, "contractive: weight of ||dh/dx||_F^2")
      .scope([](const OptionContext& c) { return c.options.at("variant") == "contractive" ? "" : "--variant contractive"; })
      .choice("noise", &AutoencoderOptions::noise, {"gaussian", "masking", "salt-pepper"},
              "denoising: gaussian, masking or salt-pepper")
      .scope([](const OptionContext& c) { return c.options.at("variant") == "denoising" ? "" : "--variant denoising"; })
      .number("noise_level", &AutoencoderOptions::noise_level, "denoising: gaussian sigma or fraction of pixels")
      .scope([](const OptionContext& c) { return c.options.at("variant") == "denoising" ? "" : "--variant denoising"; })
      .from_data("channels", &AutoencoderOptions::channels)
      .from_data("image_size", &AutoencoderOptions::image_size)
      .nested("optimizer", &AutoencoderOptions::optimizer);
  return schema;
}
void to_json(nlohmann::json& j, const AutoencoderOptions& o) { j = autoencoder_options().to_json(o); }
void from_json(const nlohmann::json& j, AutoencoderOptions& o) { autoencoder_options().from_json(j, o, "model options of 'ae'"); }


namespace {

void validate(const AutoencoderOptions& o) {
  check(is_one_of(o.variant, {"plain", "sparse", "contractive", "denoising"}),
        "--variant: expected plain, sparse, contractive or denoising, found '", o.variant, "'");
  check(is_one_of(o.arch, {"dense", "conv"}), "--arch: expected dense or conv, found '", o.arch, "'");
  check(is_one_of(o.code_activation, {"sigmoid", "relu", "linear"}),
        "--code-activation: expected sigmoid, relu or linear, found '", o.code_activation, "'");
  check(is_one_of(o.recon, {"bce", "mse"}), "--recon: expected bce or mse, found '", o.recon, "'");
  check(is_one_of(o.noise, {"gaussian", "masking", "salt-pepper"}),
        "--noise: expected gaussian, masking or salt-pepper, found '", o.noise, "'");
  check(o.channels == 1 || o.channels == 3, "ae: expected 1 or 3 image channels, found ", o.channels);
  check(o.code_size >= 1 && o.hidden >= 0, "--code-size must be positive and --hidden not negative");
  check(o.arch != "conv" || o.image_size % 4 == 0, "--arch conv: the image side must be a multiple of 4, found ",
        o.image_size);
  check(!o.tied || o.arch == "dense", "--tied: tied weights need --arch dense (W' = W^T of fully connected layers)");
  check(o.noise_level >= 0 && (o.noise == "gaussian" || o.noise_level <= 1), "--noise-level: expected a sigma >= 0 ",
        "or a fraction in [0, 1], found ", o.noise_level);
  check(o.sparsity >= 0 && o.contraction >= 0, "--sparsity and --contraction must not be negative");
}

torch::Tensor activate(const torch::Tensor& x, const std::string& activation) {
  if (activation == "sigmoid") return torch::sigmoid(x);
  if (activation == "relu") return torch::relu(x);
  return x;
}

// s'(a) written with h = s(a), per unit.
torch::Tensor activation_derivative(const torch::Tensor& pre, const torch::Tensor& h, const std::string& activation) {
  if (activation == "sigmoid") return h * (1 - h);
  if (activation == "relu") return (pre > 0).to(h.scalar_type());
  return torch::ones_like(h);
}

}  // namespace

torch::Tensor corrupt(const torch::Tensor& images, const std::string& noise, double level) {
  if (noise == "gaussian") return (images + level * batch_randn_like(images)).clamp(0.0, 1.0);
  if (noise == "masking") return images * (batch_rand_like(images) >= level).to(images.scalar_type());
  if (noise == "salt-pepper") {
    auto hit = batch_rand_like(images) < level;
    auto salt = (batch_rand_like(images) < 0.5).to(images.scalar_type());
    return torch::where(hit, salt, images);
  }
  fail("--noise: expected gaussian, masking or salt-pepper, found '", noise, "'");
}

AutoencoderNetImpl::AutoencoderNetImpl(const AutoencoderOptions& o) : options(o) {
  validate(o);
  const int64_t pixels = o.channels * o.image_size * o.image_size;
  if (o.arch == "dense") {
    const int64_t code_input = o.hidden > 0 ? o.hidden : pixels;
    if (o.hidden > 0) encoder_hidden = register_module("encoder_hidden", nn::Linear(pixels, o.hidden));
    encoder_code = register_module("encoder_code", nn::Linear(code_input, o.code_size));
    if (o.tied) {
      // The decoder reuses the encoder's weight tensors, transposed; only its biases are its own.
      if (o.hidden > 0) tied_hidden_bias = register_parameter("tied_hidden_bias", torch::zeros({o.hidden}));
      tied_out_bias = register_parameter("tied_out_bias", torch::zeros({pixels}));
    } else {
      if (o.hidden > 0) decoder_hidden = register_module("decoder_hidden", nn::Linear(o.code_size, o.hidden));
      decoder_out = register_module("decoder_out", nn::Linear(o.hidden > 0 ? o.hidden : o.code_size, pixels));
    }
  } else {
    const int64_t side = o.image_size / 4;
    conv_encoder = register_module("conv_encoder", nn::Sequential(
        nn::Conv2d(nn::Conv2dOptions(o.channels, 32, 4).stride(2).padding(1)), nn::ReLU(),  // (B,32,S/2,S/2)
        nn::Conv2d(nn::Conv2dOptions(32, 64, 4).stride(2).padding(1)), nn::ReLU(),          // (B,64,S/4,S/4)
        nn::Flatten(), nn::Linear(64 * side * side, o.code_size)));                          // (B, code)
    conv_decoder = register_module("conv_decoder", nn::Sequential(
        nn::Linear(o.code_size, 64 * side * side), nn::ReLU(),
        nn::Unflatten(nn::UnflattenOptions(1, {64, side, side})),                            // (B,64,S/4,S/4)
        nn::ConvTranspose2d(nn::ConvTranspose2dOptions(64, 32, 4).stride(2).padding(1)), nn::ReLU(),
        nn::ConvTranspose2d(nn::ConvTranspose2dOptions(32, o.channels, 4).stride(2).padding(1))));
  }
}

torch::Tensor AutoencoderNetImpl::encode(const torch::Tensor& images) {
  if (options.arch == "conv") return activate(conv_encoder->forward(images), options.code_activation);
  auto x = images.flatten(1);  // (B, C, H, W) -> (B, C*H*W)
  if (options.hidden > 0) x = torch::relu(encoder_hidden->forward(x));
  return activate(encoder_code->forward(x), options.code_activation);
}

torch::Tensor AutoencoderNetImpl::decode(const torch::Tensor& codes) {
  const std::vector<int64_t> shape = {codes.size(0), options.channels, options.image_size, options.image_size};
  if (options.arch == "conv") return conv_decoder->forward(codes).view(shape);
  torch::Tensor x = codes;
  if (options.tied) {
    if (options.hidden > 0) x = torch::relu(F::linear(x, encoder_code->weight.t(), tied_hidden_bias));
    const auto& first = options.hidden > 0 ? encoder_hidden->weight : encoder_code->weight;
    x = F::linear(x, first.t(), tied_out_bias);
  } else {
    if (options.hidden > 0) x = torch::relu(decoder_hidden->forward(x));
    x = decoder_out->forward(x);
  }
  return x.view(shape);  // (B, C*H*W) -> (B, C, H, W)
}

torch::Tensor AutoencoderNetImpl::output(const torch::Tensor& decoded) {
  return options.recon == "bce" ? torch::sigmoid(decoded) : decoded;
}

torch::Tensor AutoencoderNetImpl::jacobian_frobenius_squared(const torch::Tensor& images, bool create_graph) {
  if (options.arch != "dense" || options.hidden > 0) return jacobian_frobenius_squared_autograd(images, create_graph);
  // One layer: J = diag(s'(a)) W, so ||J||_F^2 = sum_j s'(a_j)^2 * sum_i W_ji^2.
  auto pre = encoder_code->forward(images.flatten(1));  // (B, code)
  auto h = activate(pre, options.code_activation);
  auto derivative = activation_derivative(pre, h, options.code_activation);
  auto row_norms = encoder_code->weight.pow(2).sum(1);  // (code)
  return derivative.pow(2).matmul(row_norms);            // (B, code) x (code) -> (B)
}

torch::Tensor AutoencoderNetImpl::jacobian_frobenius_squared_autograd(const torch::Tensor& images, bool create_graph) {
  torch::AutoGradMode enable(true);
  auto x = images.detach().requires_grad_(true);
  auto h = encode(x);  // (B, code)
  auto total = torch::zeros({images.size(0)}, images.options());
  for (int64_t k = 0; k < h.size(1); ++k) {
    // Images are independent, so the gradient of sum_b h_bk gives each image's row k of J.
    auto row = torch::autograd::grad({h.select(1, k).sum()}, {x}, {}, /*retain_graph=*/true, create_graph)[0];
    total = total + row.pow(2).flatten(1).sum(1);
  }
  return total;
}

AutoencoderFamily::AutoencoderFamily(const AutoencoderOptions& options, torch::Device device)
    : options_(options),
      device_(device),
      net_(options),
      optimizer_((net_->to(device), net_->parameters()), options.optimizer) {}

torch::Tensor AutoencoderFamily::reconstruction_loss(const torch::Tensor& decoded, const torch::Tensor& images) const {
  if (options_.recon == "bce") {
    return F::binary_cross_entropy_with_logits(decoded, images, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone))
        .flatten(1).sum(1);
  }
  return (decoded - images).pow(2).flatten(1).sum(1);
}

StepMetrics AutoencoderFamily::train_step(const torch::Tensor& images, const torch::Tensor&) {
  net_->train();
  auto input = options_.variant == "denoising" ? corrupt(images, options_.noise, options_.noise_level) : images;
  auto h = net_->encode(input);
  auto decoded = net_->decode(h);
  auto reconstruction = reconstruction_loss(decoded, images).mean();
  auto objective = reconstruction;
  StepMetrics metrics;
  if (options_.variant == "sparse") {
    auto l1 = h.abs().sum(1).mean();
    objective = objective + options_.sparsity * l1;
    metrics["l1"] = metric(l1);
  } else if (options_.variant == "contractive") {
    auto jacobian = net_->jacobian_frobenius_squared(input, /*create_graph=*/true).mean();
    objective = objective + options_.contraction * jacobian;
    metrics["jacobian_sq"] = metric(jacobian);
  }
  optimizer_.step(objective);
  metrics["loss"] = metric(objective);
  metrics["reconstruction"] = metric(reconstruction);
  metrics["mse"] = metric((net_->output(decoded.detach()) - images).pow(2).mean());
  return metrics;
}

Metrics AutoencoderFamily::evaluate(const Dataset& data, int64_t batch_size) {
  net_->eval();
  const bool denoising = options_.variant == "denoising";
  // ||J||_F on the first 1000 test images: enough for a stable mean, cheap for wide codes.
  const int64_t jacobian_count = std::min<int64_t>(data.size(), 1000);
  Metrics total = sum_over_split(data.size(), batch_size, [&](int64_t start, int64_t count) {
    auto images = data.images.narrow(0, start, count);
    StepMetrics batch;
    {
      torch::NoGradGuard no_grad;
      auto h = net_->encode(images);
      auto decoded = net_->decode(h);
      batch = {{"reconstruction", reconstruction_loss(decoded, images).sum()},
               {"mse", (net_->output(decoded) - images).pow(2).flatten(1).mean(1).sum()},
               {"l1", h.abs().sum()},
               {"near_zero", (h.abs() < 0.05).sum()}};
      if (denoising) {
        auto noisy = corrupt(images, options_.noise, options_.noise_level);
        batch["psnr_noisy"] = psnr(noisy, images).sum();
        batch["psnr_denoised"] = psnr(net_->output(net_->decode(net_->encode(noisy))), images).sum();
      }
    }
    if (start < jacobian_count) {
      auto part = images.narrow(0, 0, std::min(count, jacobian_count - start));
      batch["jacobian"] = net_->jacobian_frobenius_squared(part, false).detach().sqrt().sum();
    }
    return batch;
  });
  const double reconstruction = total["reconstruction"], mse = total["mse"], l1 = total["l1"],
               near_zero = total["near_zero"], jacobian = total["jacobian"], psnr_noisy = total["psnr_noisy"],
               psnr_denoised = total["psnr_denoised"];
  const double n = double(std::max<int64_t>(1, data.size()));
  Metrics metrics = {{"loss", reconstruction / n},
                     {"reconstruction", reconstruction / n},
                     {"mse", mse / n},
                     {"code_l1", l1 / n},
                     {"near_zero", near_zero / (n * double(options_.code_size))},
                     {"jacobian_norm", jacobian / double(std::max<int64_t>(1, jacobian_count))}};
  if (denoising) {
    metrics["psnr_noisy"] = psnr_noisy / n;
    metrics["psnr_denoised"] = psnr_denoised / n;
  }
  return metrics;
}

torch::Tensor AutoencoderFamily::encode(const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  net_->eval();
  return net_->encode(images.to(device_));
}

torch::Tensor AutoencoderFamily::decode(const torch::Tensor& codes) {
  torch::NoGradGuard no_grad;
  net_->eval();
  return net_->output(net_->decode(codes.to(device_))).clamp(0.0, 1.0);
}


Picture AutoencoderFamily::denoising_picture(const Dataset& test, const std::string& noise, double level) {
  const int64_t n = std::min<int64_t>(8, test.size());
  check(n > 0, "denoise-ae: the test split is empty");
  auto clean = test.images.narrow(0, 0, n);
  auto noisy = corrupt(clean, noise, level);
  auto rows = torch::cat({noisy, reconstruct(*this, noisy), clean});  // noisy, denoised, clean: (3n, C, H, W)
  return {to_pixels(rows, pixel_range()), n};
}

std::map<std::string, Picture> AutoencoderFamily::pictures(const Dataset& test) {
  std::map<std::string, Picture> out;
  if (test.size() == 0) return out;
  out["reconstructions"] = reconstruction_picture(*this, test);
  if (options_.variant == "denoising") out["denoising"] = denoising_picture(test, options_.noise, options_.noise_level);
  return out;
}

void AutoencoderFamily::save(torch::serialize::OutputArchive& archive) {
  save_net_and_optimizer(archive, *net_, optimizer_);
}

void AutoencoderFamily::load(torch::serialize::InputArchive& archive) {
  load_net_and_optimizer(archive, *net_, optimizer_, device_);
}

namespace {
[[maybe_unused]] const bool registered_autoencoder = [] {
  ModelSpec spec = image_model<AutoencoderOptions, AutoencoderFamily>(
      "ae", "Autoencoders: plain (under/over-complete, tied), sparse, contractive, denoising", autoencoder_options());
  spec.hint = "it has no prior over its codes to sample from; use a vae, or explore an ae with `deepgen interpolate` "
              "and `deepgen traverse`";
  return register_model(std::move(spec), /*order=*/20);
}();
}  // namespace

}  // namespace deepgen
