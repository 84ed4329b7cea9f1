#include "deepgen/models/vae.h"
#include "deepgen/core/batch_shard.h"

#include "deepgen/models/registry.h"
#include "deepgen/core/error.h"

namespace deepgen {

const OptionSchema<VaeOptions>& vae_options() {
  static const auto schema = OptionSchema<VaeOptions>()
      .choice("arch", &VaeOptions::arch, {"dense", "conv"}, "dense or conv")
      .positive("latent_dim", &VaeOptions::latent_dim, "Size of z")
      .positive("hidden", &VaeOptions::hidden, "Hidden units")
      .number("beta", &VaeOptions::beta, "KL weight (1 = ELBO, >1 = beta-VAE)")
      .from_data("channels", &VaeOptions::channels)
      .from_data("image_size", &VaeOptions::image_size)
      .nested("optimizer", &VaeOptions::optimizer);
  return schema;
}
void to_json(nlohmann::json& j, const VaeOptions& o) { j = vae_options().to_json(o); }
void from_json(const nlohmann::json& j, VaeOptions& o) { vae_options().from_json(j, o, "model options of 'vae'"); }


namespace {
void validate(const VaeOptions& o) {
  check(o.arch == "dense" || o.arch == "conv", "--arch: expected dense or conv, found '", o.arch, "'");
  check(o.channels == 1 || o.channels == 3, "vae: expected 1 or 3 image channels, found ", o.channels);
  check(o.image_size >= 4, "vae: expected images of at least 4x4 pixels, found ", o.image_size);
  check(o.arch != "conv" || o.image_size % 4 == 0, "--arch conv: the image side must be a multiple of 4 ",
        "(two stride-2 convolutions), found ", o.image_size, "; use --image-size or --arch dense");
  check(o.hidden >= 1, "--hidden: expected a positive count, found ", o.hidden);
  check(o.latent_dim >= 1, "--latent-dim: expected a positive count, found ", o.latent_dim);
  check(o.beta >= 0, "--beta: expected a non-negative KL weight, found ", o.beta);
}
}  // namespace

VaeLoss vae_loss(const VaeOutput& output, const torch::Tensor& images) {
  namespace F = torch::nn::functional;
  VaeLoss loss;
  loss.reconstruction = F::binary_cross_entropy_with_logits(
      output.logits, images, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kSum));
  loss.kl = -0.5 * torch::sum(1 + output.logvar - output.mu.pow(2) - output.logvar.exp());
  return loss;
}

VaeNetImpl::VaeNetImpl(const VaeOptions& o) : options(o) {
  validate(o);
  namespace nn = torch::nn;
  const int64_t pixels = o.channels * o.image_size * o.image_size;
  if (o.arch == "dense") {
    encoder = nn::Sequential(nn::Flatten(), nn::Linear(pixels, o.hidden), nn::ReLU());
    decoder = nn::Sequential(nn::Linear(o.latent_dim, o.hidden), nn::ReLU(), nn::Linear(o.hidden, pixels));
  } else {
    const int64_t side = o.image_size / 4;  // after two stride-2 convolutions
    encoder = nn::Sequential(
        nn::Conv2d(nn::Conv2dOptions(o.channels, 32, 4).stride(2).padding(1)), nn::ReLU(),  // (B,32,S/2,S/2)
        nn::Conv2d(nn::Conv2dOptions(32, 64, 4).stride(2).padding(1)), nn::ReLU(),          // (B,64,S/4,S/4)
        nn::Flatten(),                                                                        // (B,64*S*S/16)
        nn::Linear(64 * side * side, o.hidden), nn::ReLU());
    decoder = nn::Sequential(
        nn::Linear(o.latent_dim, o.hidden), nn::ReLU(), nn::Linear(o.hidden, 64 * side * side), nn::ReLU(),
        nn::Unflatten(nn::UnflattenOptions(1, {64, side, side})),  // (B,64*s*s) -> (B,64,s,s)
        nn::ConvTranspose2d(nn::ConvTranspose2dOptions(64, 32, 4).stride(2).padding(1)), nn::ReLU(),
        nn::ConvTranspose2d(nn::ConvTranspose2dOptions(32, o.channels, 4).stride(2).padding(1)));
  }
  register_module("encoder", encoder);
  fc_mu = register_module("fc_mu", nn::Linear(o.hidden, o.latent_dim));
  fc_logvar = register_module("fc_logvar", nn::Linear(o.hidden, o.latent_dim));
  register_module("decoder", decoder);
}

std::pair<torch::Tensor, torch::Tensor> VaeNetImpl::encode(const torch::Tensor& images) {
  auto features = encoder->forward(images);  // (B, hidden)
  return {fc_mu->forward(features), fc_logvar->forward(features)};
}

torch::Tensor VaeNetImpl::decode(const torch::Tensor& z) {
  // (B, latent) -> (B, C*H*W) or (B, C, H, W) -> (B, C, H, W)
  return decoder->forward(z).view({z.size(0), options.channels, options.image_size, options.image_size});
}

VaeOutput VaeNetImpl::forward(const torch::Tensor& images, bool sample) {
  auto [mu, logvar] = encode(images);
  auto z = sample ? mu + batch_randn_like(mu) * torch::exp(0.5 * logvar) : mu;
  return {decode(z), mu, logvar};
}

VaeFamily::VaeFamily(const VaeOptions& options, torch::Device device)
    : options_(options),
      device_(device),
      net_(options),
      optimizer_((net_->to(device), net_->parameters()), options.optimizer) {}

StepMetrics VaeFamily::train_step(const torch::Tensor& images, const torch::Tensor&) {
  net_->train();
  const VaeLoss loss = vae_loss(net_->forward(images), images);
  auto objective = loss.reconstruction + options_.beta * loss.kl;
  optimizer_.step(objective);
  const double count = double(images.size(0));
  auto reconstruction = metric(loss.reconstruction) / count;
  auto kl = metric(loss.kl) / count;
  return {{"loss", reconstruction + kl}, {"reconstruction", reconstruction}, {"kl", kl}};
}

Metrics VaeFamily::evaluate(const Dataset& data, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  net_->eval();
  Metrics total = sum_over_split(data.size(), batch_size, [&](int64_t start, int64_t count) -> StepMetrics {
    auto images = data.images.narrow(0, start, count);
    const VaeLoss loss = vae_loss(net_->forward(images), images);
    return {{"reconstruction", loss.reconstruction}, {"kl", loss.kl}};
  });
  const double reconstruction = total["reconstruction"], kl = total["kl"];
  const double count = double(std::max<int64_t>(1, data.size()));
  return {{"loss", (reconstruction + kl) / count}, {"reconstruction", reconstruction / count},
          {"kl", kl / count}};
}

torch::Tensor VaeFamily::encode(const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  net_->eval();
  return net_->encode(images.to(device_)).first;
}

torch::Tensor VaeFamily::decode(const torch::Tensor& codes) {
  torch::NoGradGuard no_grad;
  net_->eval();
  return torch::sigmoid(net_->decode(codes.to(device_)));
}

torch::Tensor VaeFamily::sample(int64_t n, uint64_t seed) {
  return decode(prior_codes(n, options_.latent_dim, seed));
}

std::map<std::string, Picture> VaeFamily::pictures(const Dataset& test) {
  std::map<std::string, Picture> out;
  out["samples"] = {to_pixels(sample(64, /*seed=*/0), pixel_range()), 8};
  if (test.size() > 0) out["reconstructions"] = reconstruction_picture(*this, test);
  return out;
}

void VaeFamily::save(torch::serialize::OutputArchive& archive) {
  save_net_and_optimizer(archive, *net_, optimizer_);
}

void VaeFamily::load(torch::serialize::InputArchive& archive) {
  load_net_and_optimizer(archive, *net_, optimizer_, device_);
}

namespace {
[[maybe_unused]] const bool registered_vae = register_model(image_model<VaeOptions, VaeFamily>(
    "vae", "Variational autoencoder (dense 784-400-20 or conv), Bernoulli decoder", vae_options()), /*order=*/10);
}  // namespace

}  // namespace deepgen
