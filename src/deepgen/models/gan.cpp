#include "deepgen/models/gan.h"
#include "deepgen/core/batch_shard.h"

#include "deepgen/models/registry.h"
#include "deepgen/core/error.h"
#include "deepgen/core/runtime.h"
#include "deepgen/nn/spectral_norm.h"

namespace deepgen {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

const OptionSchema<GanOptions>& gan_options() {
  static const auto schema = OptionSchema<GanOptions>()
      .choice("arch", &GanOptions::arch, {"mlp", "dcgan", "stylegan"},
              "mlp (dense G and D), dcgan (transposed / strided convolutions) or stylegan (mapping network, modulated "
              "convolutions, noise inputs; power-of-two sizes: --image-size 32 for Fashion-MNIST)")
      .choice("loss", &GanOptions::loss, {"minimax", "nonsaturating", "lsgan", "wgan-gp"},
              "minimax (G minimizes log(1 - D(G(z)))), nonsaturating (G maximizes log D(G(z))), lsgan (least squares) "
              "or wgan-gp (Wasserstein critic with gradient penalty; use with --d-steps 5 --lr 1e-4 --beta1 0 --beta2 0.9)")
      .positive("d_steps", &GanOptions::d_steps, "Discriminator updates per generator update (k)")
      .flag("conditional", &GanOptions::conditional, "Feed the class label to G and D (sample --class then picks the class)")
      .number("label_smoothing", &GanOptions::label_smoothing, "One-sided: D's target for real images is 1 - this (e.g. 0.1)", 0.0, 0.49)
      .scope([](const OptionContext& c) { return c.options.at("loss") == "wgan-gp" ? "--loss minimax, nonsaturating or lsgan" : ""; })
      .number("gp_weight", &GanOptions::gp_weight, "wgan-gp: weight (lambda) of the gradient penalty", 0.0, 1e6)
      .scope([](const OptionContext& c) { return c.options.at("loss") == "wgan-gp" ? "" : "--loss wgan-gp"; })
      .number("r1", &GanOptions::r1, "R1 penalty on real images: gamma (gamma/2 E||grad D(x)||^2; 0 = off, -1 = 10 for stylegan, else 0)", -1.0, 1e6)
      .flag("spectral_norm", &GanOptions::spectral_norm, "Spectral normalization of every layer of D (SNGAN)")
      .number("ema_decay", &GanOptions::ema_decay, "Decay of the moving average of G's weights used for sampling (0 = off)", 0.0, 0.999999)
      .with([](OptionField& f) { f.flag = "--ema"; })
      .positive("latent_dim", &GanOptions::latent_dim, "Size of z")
      .positive("g_features", &GanOptions::g_features, "dcgan: generator feature maps (ngf); stylegan: at the full size")
      .scope([](const OptionContext& c) { return c.options.at("arch") != "mlp" ? "" : "--arch dcgan or stylegan"; })
      .positive("d_features", &GanOptions::d_features, "dcgan, stylegan: discriminator feature maps (ndf)")
      .scope([](const OptionContext& c) { return c.options.at("arch") != "mlp" ? "" : "--arch dcgan or stylegan"; })
      .positive("mapping_layers", &GanOptions::mapping_layers, "stylegan: dense layers of the mapping network z -> w")
      .scope([](const OptionContext& c) { return c.options.at("arch") == "stylegan" ? "" : "--arch stylegan"; })
      .number("style_mixing", &GanOptions::style_mixing, "stylegan: probability of mixing two codes in a training batch", 0.0, 1.0)
      .scope([](const OptionContext& c) { return c.options.at("arch") == "stylegan" ? "" : "--arch stylegan"; })
      .positive("hidden", &GanOptions::hidden, "mlp: G is z-h-2h-4h-image, D is image-4h-2h-h-1")
      .scope([](const OptionContext& c) { return c.options.at("arch") == "mlp" ? "" : "--arch mlp"; })
      .from_data("classes", &GanOptions::classes)
      .from_data("channels", &GanOptions::channels)
      .from_data("image_size", &GanOptions::image_size)
      .nested("optimizer", &GanOptions::optimizer);
  return schema;
}
void to_json(nlohmann::json& j, const GanOptions& o) { j = gan_options().to_json(o); }
void from_json(const nlohmann::json& j, GanOptions& o) { gan_options().from_json(j, o, "model options of 'gan'"); }



void validate(const GanOptions& o) {
  check(is_one_of(o.arch, {"mlp", "dcgan", "stylegan"}), "gan: --arch must be mlp, dcgan or stylegan, found '", o.arch, "'");
  check(o.arch != "stylegan" || !o.conditional, "gan: --conditional is not available with --arch stylegan");
  check(is_one_of(o.loss, {"minimax", "nonsaturating", "lsgan", "wgan-gp"}),
        "gan: --loss must be minimax, nonsaturating, lsgan or wgan-gp, found '", o.loss, "'");
  check(o.gp_weight >= 0 && o.r1 >= -1, "gan: --gp-weight must not be negative and --r1 not below -1 (auto)");
  check(o.d_steps >= 1, "gan: --d-steps must be at least 1, found ", o.d_steps);
  check(!o.conditional || o.classes >= 2, "gan: --conditional needs labelled data with at least 2 classes, found ",
        o.classes, " (an image folder needs one sub-folder per class)");
  check(o.label_smoothing >= 0 && o.label_smoothing < 0.5, "gan: --label-smoothing must be in [0, 0.5), found ",
        o.label_smoothing);
  check(o.ema_decay >= 0 && o.ema_decay < 1, "gan: --ema must be in [0, 1), found ", o.ema_decay);
  check(o.channels == 1 || o.channels == 3, "gan: expected 1 or 3 image channels, found ", o.channels);
  check(o.latent_dim >= 1 && o.hidden >= 1 && o.image_size >= 1,
        "gan: --latent-dim, --hidden and the image size must be positive");
}

namespace {

DcganOptions dcgan_options(const GanOptions& o) {
  DcganOptions d;
  d.channels = o.channels;
  d.image_size = o.image_size;
  d.latent_dim = o.latent_dim;
  d.g_features = o.g_features;
  d.d_features = o.d_features;
  d.conditions = o.conditional ? o.classes : 0;
  d.d_batch_norm = o.loss != "wgan-gp" && !o.spectral_norm && o.arch != "stylegan";
  d.spectral_norm = o.spectral_norm;
  return d;
}

torch::Tensor one_hot(const torch::Tensor& labels, int64_t classes, const torch::TensorOptions& options) {
  return F::one_hot(labels.to(torch::kLong), classes).to(options);  // (B) -> (B, K)
}

// The usual small-network initialization of GANs: weights ~ N(0, 0.02), biases 0.
void normal_init(nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& child : module.modules(/*include_self=*/false)) {
    if (auto* linear = child->as<nn::Linear>()) {
      nn::init::normal_(linear->weight, 0.0, 0.02);
      nn::init::zeros_(linear->bias);
    }
  }
}

}  // namespace

double effective_r1(const GanOptions& o) { return o.r1 >= 0 ? o.r1 : o.arch == "stylegan" ? 10.0 : 0.0; }

GanGeneratorImpl::GanGeneratorImpl(const GanOptions& o) : options(o) {
  validate(o);
  if (o.arch == "stylegan") {
    StyleGanOptions s;
    s.channels = o.channels;
    s.image_size = o.image_size;
    s.latent_dim = o.latent_dim;
    s.features = o.g_features;
    s.mapping_layers = o.mapping_layers;
    s.style_mixing = o.style_mixing;
    stylegan = register_module("stylegan", StyleGenerator(s));
    return;
  }
  if (o.arch == "dcgan") {
    dcgan = register_module("dcgan", DcganGenerator(dcgan_options(o)));
    return;
  }
  // Dense: z (+ one-hot class) -> h -> 2h -> 4h -> C*S*S, leaky ReLU between, tanh at the end.
  const int64_t pixels = o.channels * o.image_size * o.image_size;
  const int64_t in = o.latent_dim + (o.conditional ? o.classes : 0);
  mlp = nn::Sequential(nn::Linear(in, o.hidden), nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)),
                       nn::Linear(o.hidden, 2 * o.hidden), nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)),
                       nn::Linear(2 * o.hidden, 4 * o.hidden), nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)),
                       nn::Linear(4 * o.hidden, pixels), nn::Tanh());
  register_module("mlp", mlp);
  normal_init(*this);
}

torch::Tensor GanGeneratorImpl::forward(const torch::Tensor& z, const torch::Tensor& labels) {
  if (stylegan) return stylegan->forward(z, truncation);
  torch::Tensor input = truncation == 1.0 ? z : z * truncation;
  if (options.conditional) {
    check(labels.defined(), "gan: a conditional generator needs class labels");
    input = torch::cat({input, one_hot(labels, options.classes, z.options())}, 1);  // (B, nz) -> (B, nz + K)
  }
  if (dcgan) return dcgan->forward(input);
  // (B, C*S*S) -> (B, C, S, S)
  return mlp->forward(input).view({z.size(0), options.channels, options.image_size, options.image_size});
}

GanDiscriminatorImpl::GanDiscriminatorImpl(const GanOptions& o) : options(o) {
  validate(o);
  if (o.arch == "dcgan" || o.arch == "stylegan") {
    dcgan = register_module("dcgan", DcganDiscriminator(dcgan_options(o)));
    return;
  }
  // Dense: image (+ one-hot class) -> 4h -> 2h -> h -> 1, leaky ReLU and dropout 0.3 between.
  const int64_t pixels = o.channels * o.image_size * o.image_size;
  const int64_t in = pixels + (o.conditional ? o.classes : 0);
  mlp = nn::Sequential();
  int64_t features = in;
  auto dense = [&](int64_t in_features, int64_t out_features) {
    nn::Linear linear(in_features, out_features);
    if (o.spectral_norm) {
      mlp->push_back(SpectralNorm(linear));
    } else {
      mlp->push_back(linear);
    }
  };
  for (const int64_t width : {4 * o.hidden, 2 * o.hidden, o.hidden}) {
    dense(features, width);
    mlp->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
    mlp->push_back(nn::Dropout(0.3));
    features = width;
  }
  dense(features, 1);
  register_module("mlp", mlp);
  normal_init(*this);
}

torch::Tensor GanDiscriminatorImpl::forward(const torch::Tensor& images, const torch::Tensor& labels) {
  check(labels.defined() || !options.conditional, "gan: a conditional discriminator needs class labels");
  if (dcgan) {
    if (!options.conditional) return dcgan->forward(images);
    const auto planes = one_hot(labels, options.classes, images.options())
                            .view({images.size(0), options.classes, 1, 1})  // (B, K) -> (B, K, 1, 1)
                            .expand({images.size(0), options.classes, images.size(2), images.size(3)});
    return dcgan->forward(torch::cat({images, planes}, 1));  // (B, C + K, S, S)
  }
  torch::Tensor input = images.flatten(1);  // (B, C, S, S) -> (B, C*S*S)
  if (options.conditional) input = torch::cat({input, one_hot(labels, options.classes, images.options())}, 1);
  return mlp->forward(input).view({-1});  // (B, 1) -> (B)
}

torch::Tensor gan_discriminator_loss(const std::string& loss, const torch::Tensor& real_scores,
                                     const torch::Tensor& fake_scores, double label_smoothing) {
  const double real_target = 1.0 - label_smoothing;
  if (loss == "wgan-gp") return fake_scores.mean() - real_scores.mean();
  if (loss == "lsgan") {
    return 0.5 * (real_scores - real_target).pow(2).mean() + 0.5 * fake_scores.pow(2).mean();
  }
  check(loss == "minimax" || loss == "nonsaturating", "gan: unknown loss '", loss,
        "'; valid: minimax, nonsaturating, lsgan, wgan-gp");
  return F::binary_cross_entropy_with_logits(real_scores, torch::full_like(real_scores, real_target)) +
         F::binary_cross_entropy_with_logits(fake_scores, torch::zeros_like(fake_scores));
}

torch::Tensor gan_generator_loss(const std::string& loss, const torch::Tensor& fake_scores) {
  if (loss == "minimax") return -F::softplus(fake_scores).mean();        // log(1 - sigmoid(s)) = -softplus(s)
  if (loss == "nonsaturating") return F::softplus(-fake_scores).mean();  // -log sigmoid(s) = softplus(-s)
  if (loss == "wgan-gp") return -fake_scores.mean();
  check(loss == "lsgan", "gan: unknown loss '", loss, "'; valid: minimax, nonsaturating, lsgan, wgan-gp");
  return 0.5 * (fake_scores - 1).pow(2).mean();
}

namespace {

// What the metrics call D(x): a probability for the logistic losses, the raw score for lsgan and wgan-gp.
torch::Tensor d_output(const std::string& loss, const torch::Tensor& scores) {
  return loss == "lsgan" || loss == "wgan-gp" ? scores : torch::sigmoid(scores);
}

// Per-image gradient norms ||grad_x critic(x)||_2 (B), differentiable.
torch::Tensor input_gradient_norms(const std::function<torch::Tensor(const torch::Tensor&)>& critic,
                                   torch::Tensor x) {
  x = x.detach().requires_grad_(true);
  const auto scores = critic(x);
  const auto gradient = torch::autograd::grad({scores.sum()}, {x}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  return gradient.flatten(1).norm(2, 1);
}

}  // namespace

torch::Tensor gradient_penalty(const std::function<torch::Tensor(const torch::Tensor&)>& critic,
                               const torch::Tensor& real, const torch::Tensor& fake, torch::Tensor eps) {
  if (!eps.defined()) eps = batch_rand({real.size(0)}, real.options());
  const auto shape = std::vector<int64_t>{real.size(0), 1, 1, 1};
  const auto mix = eps.view(shape) * real.detach() + (1 - eps.view(shape)) * fake.detach();
  return (input_gradient_norms(critic, mix) - 1).pow(2).mean();
}

torch::Tensor r1_penalty(const std::function<torch::Tensor(const torch::Tensor&)>& critic, const torch::Tensor& real) {
  return input_gradient_norms(critic, real).pow(2).mean();
}

GanFamily::GanFamily(const GanOptions& options, torch::Device device)
    : options_((validate(options), options)),
      device_(device),
      generator_(options),
      ema_(options),
      discriminator_(options),
      optimizer_g_((generator_->to(device), generator_->parameters()), options.optimizer),
      optimizer_d_((discriminator_->to(device), discriminator_->parameters()), options.optimizer) {
  ema_->to(device);
  torch::NoGradGuard no_grad;
  const auto source = generator_->named_parameters(), target = ema_->named_parameters();
  for (const auto& item : source) target[item.key()].copy_(item.value());
  const auto buffers = generator_->named_buffers(), ema_buffers = ema_->named_buffers();
  for (const auto& item : buffers) ema_buffers[item.key()].copy_(item.value());
  for (auto& parameter : ema_->parameters()) parameter.set_requires_grad(false);
  ema_->eval();
}

void GanFamily::update_ema() {
  if (options_.ema_decay <= 0) return;
  torch::NoGradGuard no_grad;
  // Early on the average would be dominated by the random initialization; like TensorFlow's
  // ExponentialMovingAverage(num_updates), start with a shorter memory.
  const double decay = std::min(options_.ema_decay, (1.0 + double(g_updates_)) / (10.0 + double(g_updates_)));
  const auto source = generator_->named_parameters(), target = ema_->named_parameters();
  for (const auto& item : source) target[item.key()].mul_(decay).add_(item.value(), 1.0 - decay);
  // Batch-norm statistics are copied, not averaged.
  const auto buffers = generator_->named_buffers(), ema_buffers = ema_->named_buffers();
  for (const auto& item : buffers) ema_buffers[item.key()].copy_(item.value());
}

StepMetrics GanFamily::train_step(const torch::Tensor& real, const torch::Tensor& labels) {
  generator_->train();
  discriminator_->train();
  const torch::Tensor condition = options_.conditional ? labels.to(real.device()) : torch::Tensor();
  auto z = batch_randn({real.size(0), options_.latent_dim}, real.options());
  auto fake = generator_->forward(z, condition);

  // Discriminator: one step down its loss, on real images and on G's (detached) samples.
  auto real_scores = discriminator_->forward(real, condition);
  auto fake_scores = discriminator_->forward(fake.detach(), condition);
  auto loss_d = gan_discriminator_loss(options_.loss, real_scores, fake_scores, options_.label_smoothing);
  StepMetrics extra;
  auto critic = [&](const torch::Tensor& x) { return discriminator_->forward(x, condition); };
  if (options_.loss == "wgan-gp") {
    const auto penalty = gradient_penalty(critic, real, fake);
    extra["wasserstein"] = metric(real_scores.mean() - fake_scores.mean());
    extra["gradient_penalty"] = metric(penalty);
    loss_d = loss_d + options_.gp_weight * penalty;
  }
  if (const double gamma = effective_r1(options_); gamma > 0) {
    const auto penalty = r1_penalty(critic, real);
    extra["r1"] = metric(penalty);
    loss_d = loss_d + 0.5 * gamma * penalty;
  }
  optimizer_d_.step(loss_d);
  ++d_updates_;

  // Generator: after every k-th discriminator step, one step against the updated discriminator.
  torch::Tensor loss_g;
  const bool update_g = d_updates_ % options_.d_steps == 0;
  if (update_g) {
    loss_g = gan_generator_loss(options_.loss, discriminator_->forward(fake, condition));
    optimizer_g_.step(loss_g);
    update_ema();
    ++g_updates_;
  } else {
    loss_g = gan_generator_loss(options_.loss, fake_scores.detach());  // reported only
  }
  auto d = metric(loss_d);
  StepMetrics metrics = {{"loss", d},
                         {"loss_d", d},
                         {"loss_g", metric(loss_g)},
                         {"d_x", metric(d_output(options_.loss, real_scores).mean())},
                         {"d_g_z", metric(d_output(options_.loss, fake_scores).mean())},
                         {"g_update", metric(update_g ? 1.0 : 0.0, real.device())}};
  metrics.insert(extra.begin(), extra.end());
  return metrics;
}

Metrics GanFamily::evaluate(const Dataset& data, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  generator_->eval();
  discriminator_->eval();
  Metrics total = sum_over_split(data.size(), batch_size, [&](int64_t start, int64_t count) -> StepMetrics {
    const auto real = data.images.narrow(0, start, count);
    const torch::Tensor condition =
        options_.conditional ? data.labels.narrow(0, start, count).to(real.device()) : torch::Tensor();
    auto real_scores = discriminator_->forward(real, condition);
    // The generator that samples: the moving average when --ema is on (as `sample` and the pictures use).
    auto fake_scores = discriminator_->forward(
        sampling_generator()->forward(batch_randn({count, options_.latent_dim}, real.options()), condition), condition);
    return {{"loss_d", metric(gan_discriminator_loss(options_.loss, real_scores, fake_scores, options_.label_smoothing)) * double(count)},
            {"loss_g", metric(gan_generator_loss(options_.loss, fake_scores)) * double(count)},
            {"d_x", d_output(options_.loss, real_scores).sum()},
            {"d_g_z", d_output(options_.loss, fake_scores).sum()}};
  });
  const double loss_d = total["loss_d"], loss_g = total["loss_g"], d_x = total["d_x"], d_g_z = total["d_g_z"];
  const double n = double(std::max<int64_t>(1, data.size()));
  Metrics metrics = {{"loss", loss_d / n}, {"loss_d", loss_d / n}, {"loss_g", loss_g / n}, {"d_x", d_x / n},
                     {"d_g_z", d_g_z / n}};
  // The critic's Wasserstein estimate (its loss_d here leaves out the gradient penalty, which needs gradients).
  if (options_.loss == "wgan-gp") metrics["wasserstein"] = (d_x - d_g_z) / n;
  return metrics;
}

void GanFamily::set_condition(int64_t label) {
  check(options_.conditional, "this gan is not class-conditional; train it with --conditional to choose a class");
  check(label >= -1 && label < options_.classes, "--class: expected 0 to ", options_.classes - 1, ", found ", label);
  condition_ = label;
}

torch::Tensor GanFamily::condition_labels(int64_t n) const {
  if (!options_.conditional) return {};
  auto labels = condition_ >= 0 ? torch::full({n}, condition_, torch::kLong)
                                : torch::arange(n, torch::kLong).remainder(options_.classes);
  return labels.to(device_);
}

torch::Tensor GanFamily::decode(const torch::Tensor& codes) {
  torch::NoGradGuard no_grad;
  auto& generator = sampling_generator();
  generator->eval();
  return generator->forward(codes.to(device_), condition_labels(codes.size(0)));
}

torch::Tensor GanFamily::sample(int64_t n, uint64_t seed) { return decode(prior_codes(n, options_.latent_dim, seed)); }

void GanFamily::set_truncation(double psi) {
  check(psi >= 0 && psi <= 1, "--truncation: expected psi in [0, 1], found ", psi);
  generator_->truncation = psi;
  ema_->truncation = psi;
}

std::map<std::string, Picture> GanFamily::style_pictures() {
  torch::NoGradGuard no_grad;
  auto& generator = sampling_generator();
  generator->eval();
  StyleGenerator& style = generator->stylegan;
  const int64_t layers = style->num_ws(), nz = options_.latent_dim;
  auto images = [&](const torch::Tensor& x) { return to_pixels(x, pixel_range()); };
  std::map<std::string, Picture> out;
  // Style mixing: a blank corner, 5 column sources on top, 5 row sources on the left; cell (r, c) takes
  // the coarse layers (the first half) from row source r and the fine ones from column source c.
  const int64_t k = 5;
  const auto rows = style->map(prior_codes(k, nz, /*seed=*/1).to(device_));
  const auto columns = style->map(prior_codes(k, nz, /*seed=*/2).to(device_));
  auto broadcast = [&](const torch::Tensor& w) { return w.unsqueeze(1).expand({-1, layers, -1}); };
  const auto top = style->synthesize(broadcast(columns)), left = style->synthesize(broadcast(rows));
  std::vector<torch::Tensor> grid = {torch::full_like(top.narrow(0, 0, 1), -1.0), top};
  const auto layer = torch::arange(layers, torch::TensorOptions().dtype(torch::kLong).device(device_)).view({1, -1, 1});
  for (int64_t r = 0; r < k; ++r) {
    grid.push_back(left.narrow(0, r, 1));
    const auto coarse = broadcast(rows.narrow(0, r, 1).expand({k, -1}));
    grid.push_back(style->synthesize(torch::where(layer < layers / 2, coarse, broadcast(columns))));
  }
  out["style_mixing"] = {images(torch::cat(grid)), k + 1};
  // Truncation: 6 codes (rows) at psi 1, 0.7, 0.5, 0.3, 0 (columns); psi 0 is the average code's image.
  const auto w = style->map(prior_codes(6, nz, /*seed=*/3).to(device_));
  std::vector<torch::Tensor> sweep;
  for (int64_t i = 0; i < 6; ++i) {
    for (const double psi : {1.0, 0.7, 0.5, 0.3, 0.0}) sweep.push_back(style->truncate(w.narrow(0, i, 1), psi));
  }
  out["truncation"] = {images(style->synthesize(broadcast(torch::cat(sweep)))), 5};
  // Noise inputs: one code, 8 draws of the per-layer noise.
  const auto one = broadcast(w.narrow(0, 0, 1).expand({8, -1}));
  out["noise"] = {images(style->synthesize(one, /*fresh_noise=*/true)), 8};
  return out;
}

std::map<std::string, Picture> GanFamily::pictures(const Dataset&) {
  if (!options_.conditional) {
    std::map<std::string, Picture> out;
    if (options_.arch == "stylegan") {
      ForkedRng keep(0);  // the noise picture draws noise; training's random stream stays where it was
      out = style_pictures();
    }
    out["samples"] = {to_pixels(sample(64, /*seed=*/0), pixel_range()), 8};
    return out;
  }
  // One row per class, the same 8 codes in every row: (K*8, nz), class = row.
  const int64_t columns = 8;
  auto codes = prior_codes(columns, options_.latent_dim, /*seed=*/0).repeat({options_.classes, 1});
  auto labels = torch::arange(options_.classes, torch::kLong).repeat_interleave(columns).to(device_);
  torch::NoGradGuard no_grad;
  auto& generator = sampling_generator();
  generator->eval();
  return {{"samples", {to_pixels(generator->forward(codes.to(device_), labels), pixel_range()), columns}}};
}

void GanFamily::save(torch::serialize::OutputArchive& archive) {
  torch::serialize::OutputArchive g, d, ema, opt_g, opt_d;
  generator_->save(g);
  discriminator_->save(d);
  ema_->save(ema);
  optimizer_g_.save(opt_g);
  optimizer_d_.save(opt_d);
  archive.write("generator", g);
  archive.write("discriminator", d);
  archive.write("generator_ema", ema);
  archive.write("optimizer_g", opt_g);
  archive.write("optimizer_d", opt_d);
  archive.write("updates", torch::tensor({d_updates_, g_updates_}, torch::kLong));
}

void GanFamily::load(torch::serialize::InputArchive& archive) {
  torch::serialize::InputArchive g, d, ema, opt_g, opt_d;
  archive.read("generator", g);
  archive.read("discriminator", d);
  archive.read("generator_ema", ema);
  archive.read("optimizer_g", opt_g);
  archive.read("optimizer_d", opt_d);
  generator_->load(g);
  discriminator_->load(d);
  ema_->load(ema);
  generator_->to(device_);
  discriminator_->to(device_);
  ema_->to(device_);
  optimizer_g_.load(opt_g);
  optimizer_d_.load(opt_d);
  torch::Tensor updates;
  archive.read("updates", updates);
  check(updates.numel() == 2, "gan checkpoint: expected 2 update counters, found ", updates.numel());
  d_updates_ = updates[0].item<int64_t>();
  g_updates_ = updates[1].item<int64_t>();
}

namespace {
[[maybe_unused]] const bool registered_gan = register_model(image_model<GanOptions, GanFamily>(
    "gan", "GANs: dense (mlp) or DCGAN networks; minimax, non-saturating or least-squares game", gan_options(),
    PixelRange::kSymmetric, /*with_classes=*/true), /*order=*/40);
}  // namespace

}  // namespace deepgen
