#include "deepgen/models/dcgan.h"

#include "deepgen/core/error.h"

namespace deepgen {
namespace nn = torch::nn;

void to_json(nlohmann::json& j, const DcganOptions& o) {
  j = {{"channels", o.channels}, {"image_size", o.image_size}, {"latent_dim", o.latent_dim},
       {"g_features", o.g_features}, {"d_features", o.d_features}, {"optimizer", o.optimizer}};
}
void from_json(const nlohmann::json& j, DcganOptions& o) {
  o.channels = j.value("channels", o.channels);
  o.image_size = j.value("image_size", o.image_size);
  o.latent_dim = j.value("latent_dim", o.latent_dim);
  o.g_features = j.value("g_features", o.g_features);
  o.d_features = j.value("d_features", o.d_features);
  o.optimizer = j.value("optimizer", o.optimizer);
}

namespace {

// The generator starts from a base x base map and doubles it `doublings` times.
struct Layout {
  int64_t base = 4, doublings = 0;
};

Layout layout_for(const DcganOptions& o) {
  check(o.channels == 1 || o.channels == 3, "dcgan: expected 1 or 3 image channels, found ", o.channels);
  check(o.latent_dim >= 1 && o.g_features >= 1 && o.d_features >= 1,
        "dcgan: --latent-dim, --g-features and --d-features must be positive");
  Layout layout;
  layout.base = o.image_size == 28 ? 7 : 4;
  int64_t side = layout.base;
  while (side < o.image_size) {
    side *= 2;
    ++layout.doublings;
  }
  check(side == o.image_size && layout.doublings >= 1 && layout.doublings <= 6,
        "dcgan: image size must be 28 or a power of two from 8 to 256, found ", o.image_size,
        "; use --image-size 64 for image folders");
  return layout;
}

// DCGAN's initialization: conv weights ~ N(0, 0.02); batch-norm scale ~ N(1, 0.02), shift 0.
void dcgan_init(nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& child : module.modules(/*include_self=*/false)) {
    if (auto* conv = child->as<nn::Conv2d>()) {
      nn::init::normal_(conv->weight, 0.0, 0.02);
    } else if (auto* deconv = child->as<nn::ConvTranspose2d>()) {
      nn::init::normal_(deconv->weight, 0.0, 0.02);
    } else if (auto* norm = child->as<nn::BatchNorm2d>()) {
      nn::init::normal_(norm->weight, 1.0, 0.02);
      nn::init::zeros_(norm->bias);
    }
  }
}

}  // namespace

DcganGeneratorImpl::DcganGeneratorImpl(const DcganOptions& o) : latent_dim(o.latent_dim) {
  const Layout layout = layout_for(o);
  layers = nn::Sequential();
  // z (B, nz, 1, 1) -> (B, ngf * 2^(d-1), base, base)
  int64_t features = o.g_features << (layout.doublings - 1);
  layers->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(o.latent_dim, features, layout.base).bias(false)));
  layers->push_back(nn::BatchNorm2d(features));
  layers->push_back(nn::ReLU(true));
  // Each block doubles the side and halves the features; the last one emits the image channels.
  for (int64_t i = 1; i <= layout.doublings; ++i) {
    const bool last = i == layout.doublings;
    const int64_t out = last ? o.channels : features / 2;
    layers->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(features, out, 4).stride(2).padding(1).bias(last)));
    if (!last) {
      layers->push_back(nn::BatchNorm2d(out));
      layers->push_back(nn::ReLU(true));
    }
    features = out;
  }
  layers->push_back(nn::Tanh());
  register_module("layers", layers);
  dcgan_init(*this);
}

torch::Tensor DcganGeneratorImpl::forward(const torch::Tensor& z) {
  return layers->forward(z.view({z.size(0), latent_dim, 1, 1}));  // (B, nz) -> (B, nz, 1, 1) -> (B, C, S, S)
}

DcganDiscriminatorImpl::DcganDiscriminatorImpl(const DcganOptions& o) {
  const Layout layout = layout_for(o);
  layers = nn::Sequential();
  int64_t features = o.channels;
  // Each block halves the side; no batch norm on the first (as in the paper).
  for (int64_t i = 0; i < layout.doublings; ++i) {
    const int64_t out = o.d_features << i;
    layers->push_back(nn::Conv2d(nn::Conv2dOptions(features, out, 4).stride(2).padding(1).bias(i == 0)));
    if (i > 0) layers->push_back(nn::BatchNorm2d(out));
    layers->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2).inplace(true)));
    features = out;
  }
  // (B, ndf * 2^(d-1), base, base) -> (B, 1, 1, 1)
  layers->push_back(nn::Conv2d(nn::Conv2dOptions(features, 1, layout.base).bias(false)));
  register_module("layers", layers);
  dcgan_init(*this);
}

torch::Tensor DcganDiscriminatorImpl::forward(const torch::Tensor& images) {
  return layers->forward(images).view({-1});  // (B, 1, 1, 1) -> (B)
}

torch::Tensor discriminator_loss(const torch::Tensor& real_logits, const torch::Tensor& fake_logits) {
  namespace F = nn::functional;
  // -[log D(x) + log(1 - D(G(z)))]
  return F::binary_cross_entropy_with_logits(real_logits, torch::ones_like(real_logits)) +
         F::binary_cross_entropy_with_logits(fake_logits, torch::zeros_like(fake_logits));
}

torch::Tensor nonsaturating_generator_loss(const torch::Tensor& fake_logits) {
  // -log D(G(z)): strong gradients early, when D rejects the samples easily.
  return nn::functional::binary_cross_entropy_with_logits(fake_logits, torch::ones_like(fake_logits));
}

DcganFamily::DcganFamily(const DcganOptions& options, torch::Device device)
    : options_(options),
      device_(device),
      generator_(options),
      discriminator_(options),
      optimizer_g_((generator_->to(device), generator_->parameters()), options.optimizer),
      optimizer_d_((discriminator_->to(device), discriminator_->parameters()), options.optimizer) {}

Metrics DcganFamily::train_step(const torch::Tensor& real, const torch::Tensor&) {
  generator_->train();
  discriminator_->train();
  auto z = torch::randn({real.size(0), options_.latent_dim}, real.options());
  auto fake = generator_->forward(z);

  // Discriminator: maximize log D(x) + log(1 - D(G(z))).
  auto real_logits = discriminator_->forward(real);
  auto fake_logits = discriminator_->forward(fake.detach());
  auto loss_d = discriminator_loss(real_logits, fake_logits);
  optimizer_d_.step(loss_d);

  // Generator: maximize log D(G(z)) against the updated discriminator.
  auto loss_g = nonsaturating_generator_loss(discriminator_->forward(fake));
  optimizer_g_.step(loss_g);

  const double d = loss_d.item<double>();
  return {{"loss", d},
          {"loss_d", d},
          {"loss_g", loss_g.item<double>()},
          {"d_x", torch::sigmoid(real_logits).mean().item<double>()},
          {"d_g_z", torch::sigmoid(fake_logits).mean().item<double>()}};
}

Metrics DcganFamily::evaluate(const Dataset& data, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  generator_->eval();
  discriminator_->eval();
  double loss_d = 0, loss_g = 0, d_x = 0, d_g_z = 0;
  for (int64_t start = 0; start < data.size(); start += batch_size) {
    const int64_t count = std::min(batch_size, data.size() - start);
    auto real_logits = discriminator_->forward(data.images.narrow(0, start, count));
    auto fake_logits = discriminator_->forward(
        generator_->forward(torch::randn({count, options_.latent_dim}, data.images.options())));
    loss_d += discriminator_loss(real_logits, fake_logits).item<double>() * count;
    loss_g += nonsaturating_generator_loss(fake_logits).item<double>() * count;
    d_x += torch::sigmoid(real_logits).sum().item<double>();
    d_g_z += torch::sigmoid(fake_logits).sum().item<double>();
  }
  const double n = double(std::max<int64_t>(1, data.size()));
  return {{"loss", loss_d / n}, {"loss_d", loss_d / n}, {"loss_g", loss_g / n}, {"d_x", d_x / n},
          {"d_g_z", d_g_z / n}};
}

torch::Tensor DcganFamily::decode(const torch::Tensor& codes) {
  torch::NoGradGuard no_grad;
  generator_->eval();
  return generator_->forward(codes.to(device_));
}

torch::Tensor DcganFamily::sample(int64_t n, uint64_t seed) {
  auto generator = at::detail::createCPUGenerator(seed);
  return decode(torch::randn({n, options_.latent_dim}, generator, torch::kFloat));
}

std::map<std::string, Picture> DcganFamily::pictures(const Dataset&) {
  return {{"samples", {to_pixels(sample(64, /*seed=*/0), pixel_range()), 8}}};
}

void DcganFamily::save(torch::serialize::OutputArchive& archive) {
  torch::serialize::OutputArchive g, d, opt_g, opt_d;
  generator_->save(g);
  discriminator_->save(d);
  optimizer_g_.save(opt_g);
  optimizer_d_.save(opt_d);
  archive.write("generator", g);
  archive.write("discriminator", d);
  archive.write("optimizer_g", opt_g);
  archive.write("optimizer_d", opt_d);
}

void DcganFamily::load(torch::serialize::InputArchive& archive) {
  torch::serialize::InputArchive g, d, opt_g, opt_d;
  archive.read("generator", g);
  archive.read("discriminator", d);
  archive.read("optimizer_g", opt_g);
  archive.read("optimizer_d", opt_d);
  generator_->load(g);
  discriminator_->load(d);
  generator_->to(device_);
  discriminator_->to(device_);
  optimizer_g_.load(opt_g);
  optimizer_d_.load(opt_d);
}

}  // namespace deepgen
