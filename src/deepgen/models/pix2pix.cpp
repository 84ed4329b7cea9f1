#include "deepgen/models/pix2pix.h"

#include "deepgen/core/error.h"
#include "deepgen/data/image_grid.h"
#include "deepgen/data/paired_images.h"
#include "deepgen/models/gan.h"
#include "deepgen/models/registry.h"
#include "deepgen/nn/batch_norm.h"
#include "deepgen/nn/image_quality.h"

namespace deepgen {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

const OptionSchema<Pix2PixOptions>& pix2pix_options() {
  static const auto schema = OptionSchema<Pix2PixOptions>()
      .choice("pairs", &Pix2PixOptions::pairs, {"side-by-side", "folders", "edges", "gray"},
              "Where the pairs come from: side-by-side (pix2pix's DIR/{train,test}/A|B files), folders (DIR/A and DIR/B "
              "with train/ and test/, matching names), edges (edge maps of --data's images -> the images) or gray "
              "(luminance -> colour)")
      .choice("direction", &Pix2PixOptions::direction, {"a2b", "b2a"},
              "a2b: A (left, or folder A) is the input; b2a: B is")
      .positive("g_features", &Pix2PixOptions::g_features, "U-Net features at the outermost level (ngf)")
      .positive("d_features", &Pix2PixOptions::d_features, "PatchGAN features at its first layer (ndf)")
      .number("d_layers", &Pix2PixOptions::d_layers, "PatchGAN stride-2 layers (3: 70x70 patches)", 1, 6)
      .number("dropout", &Pix2PixOptions::dropout, "Dropout in the three U-Net up levels next to the innermost", 0.0, 0.99)
      .flag("adversarial", &Pix2PixOptions::adversarial, "The L1-only ablation: the U-Net alone, no discriminator")
      .with([](OptionField& f) { f.flag = "--no-gan", f.negated = true; })
      .choice("gan_loss", &Pix2PixOptions::gan_loss, {"nonsaturating", "lsgan"},
              "nonsaturating (the paper's cross-entropy GAN) or lsgan (least squares)")
      .scope([](const OptionContext& c) { return c.options.at("adversarial").get<bool>() ? "" : "the GAN (drop --no-gan)"; })
      .number("lambda_l1", &Pix2PixOptions::lambda_l1, "Weight of the L1 term (the paper: 100)", 0.0, 1e6)
      .from_data("input_channels", &Pix2PixOptions::input_channels)
      .from_data("output_channels", &Pix2PixOptions::output_channels)
      .from_data("image_size", &Pix2PixOptions::image_size)
      .nested("optimizer", &Pix2PixOptions::optimizer);
  return schema;
}
void to_json(nlohmann::json& j, const Pix2PixOptions& o) { j = pix2pix_options().to_json(o); }
void from_json(const nlohmann::json& j, Pix2PixOptions& o) { pix2pix_options().from_json(j, o, "model options of 'pix2pix'"); }

int64_t unet_depth(int64_t image_size) {
  for (int64_t depth = 5; depth <= 8; ++depth) {
    if (image_size == (int64_t(1) << depth)) return depth;
  }
  fail("--image-size: the U-Net needs a power-of-two side from 32 to 256, found ", image_size,
       " (e.g. --image-size 32 for Fashion-MNIST, 256 for facades)");
}

namespace {
nn::Conv2d down_conv(int64_t in, int64_t out) {  // (N, in, H, W) -> (N, out, H/2, W/2)
  return nn::Conv2d(nn::Conv2dOptions(in, out, 4).stride(2).padding(1).bias(false));
}
nn::LeakyReLU leaky() { return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)); }
}  // namespace

UNetImpl::UNetImpl(int64_t in_channels, int64_t out_channels, int64_t depth_, int64_t features, double dropout)
    : depth(depth_) {
  check(depth >= 2, "U-Net: expected at least 2 levels, found ", depth);
  auto width = [&](int64_t level) { return features * std::min<int64_t>(int64_t(1) << level, 8); };
  for (int64_t level = 0; level < depth; ++level) {
    nn::Sequential block;
    if (level > 0) block->push_back(leaky());
    block->push_back(down_conv(level == 0 ? in_channels : width(level - 1), width(level)));
    if (level > 0 && level < depth - 1) block->push_back(SyncBatchNorm(width(level)));
    down.push_back(register_module("down" + std::to_string(level), block));
  }
  for (int64_t level = 0; level < depth; ++level) {
    // The innermost level takes the bottleneck alone; the others the level below and their skip.
    const int64_t in = level == depth - 1 ? width(level) : 2 * width(level);
    const int64_t out = level == 0 ? out_channels : width(level - 1);
    nn::Sequential block;
    block->push_back(nn::ReLU());
    // (N, in, H, W) -> (N, out, 2H, 2W)
    block->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(in, out, 4).stride(2).padding(1).bias(level == 0)));
    if (level > 0) block->push_back(SyncBatchNorm(out));
    if (level > 0 && level < depth - 1 && level >= depth - 4 && dropout > 0) block->push_back(nn::Dropout(dropout));
    if (level == 0) block->push_back(nn::Tanh());
    up.push_back(register_module("up" + std::to_string(level), block));
  }
  translation_init(*this);
}

torch::Tensor UNetImpl::forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> skips;  // skips[l]: (N, width(l), H / 2^(l+1), W / 2^(l+1))
  torch::Tensor h = x;
  for (auto& block : down) skips.push_back(h = block->forward(h));
  h = up[depth - 1]->forward(skips[depth - 1]);
  for (int64_t level = depth - 2; level >= 0; --level) {
    h = up[level]->forward(torch::cat({h, skips[level]}, 1));  // (N, 2 width(l), ...) -> up one level
  }
  return h;
}

int64_t patch_last_norm_side(int64_t side, int64_t layers) {
  side /= 2;                                            // the first 4x4 stride-2 convolution (padding 1)
  for (int64_t n = 1; n < layers; ++n) side /= 2;       // the stride-2 ones
  return std::max<int64_t>(0, side - 1);                // the stride-1 one
}
int64_t patch_map_side(int64_t side, int64_t layers) {
  return std::max<int64_t>(0, patch_last_norm_side(side, layers) - 1);
}

PatchDiscriminatorImpl::PatchDiscriminatorImpl(int64_t in_channels, int64_t features, int64_t count, bool instance_norm) {
  check(count >= 1, "PatchGAN: expected at least 1 stride-2 layer, found ", count);
  auto width = [&](int64_t n) { return features * std::min<int64_t>(int64_t(1) << n, 8); };
  layers = nn::Sequential();
  layers->push_back(nn::Conv2d(nn::Conv2dOptions(in_channels, features, 4).stride(2).padding(1)));
  layers->push_back(leaky());
  for (int64_t n = 1; n <= count; ++n) {
    const int64_t stride = n < count ? 2 : 1;  // the last one keeps the size (pix2pix's NLayerDiscriminator)
    layers->push_back(nn::Conv2d(nn::Conv2dOptions(width(n - 1), width(n), 4).stride(stride).padding(1).bias(instance_norm)));
    if (instance_norm) {
      layers->push_back(nn::InstanceNorm2d(nn::InstanceNorm2dOptions(width(n))));
    } else {
      layers->push_back(SyncBatchNorm(width(n)));
    }
    layers->push_back(leaky());
  }
  layers->push_back(nn::Conv2d(nn::Conv2dOptions(width(count), 1, 4).stride(1).padding(1)));  // (N, 1, P, P)
  register_module("layers", layers);
  translation_init(*this);
}

torch::Tensor PatchDiscriminatorImpl::forward(const torch::Tensor& x) { return layers->forward(x); }

void translation_init(nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& child : module.modules(/*include_self=*/false)) {
    for (auto& item : child->named_parameters(/*recurse=*/false)) {
      const std::string& name = item.key();
      torch::Tensor& parameter = item.value();
      const bool norm = child->as<SyncBatchNorm>() != nullptr;
      if (name == "weight") {
        norm ? parameter.normal_(1.0, 0.02) : parameter.normal_(0.0, 0.02);
      } else if (name == "bias") {
        parameter.zero_();
      }
    }
  }
}

torch::Tensor translation_d_loss(const std::string& loss, const torch::Tensor& real_scores, const torch::Tensor& fake_scores) {
  // gan.h's lsgan loss already halves both terms; its cross-entropy loss is their sum.
  auto both = gan_discriminator_loss(loss, real_scores, fake_scores);
  return loss == "lsgan" ? both : 0.5 * both;
}

torch::Tensor translation_g_loss(const std::string& loss, const torch::Tensor& fake_scores) {
  auto g = gan_generator_loss(loss, fake_scores);
  return loss == "lsgan" ? 2.0 * g : g;  // gan.h's is 1/2 (D(G) - 1)^2
}

torch::Tensor gray_as_rgb(const torch::Tensor& images, bool rgb) {
  return rgb && images.size(1) == 1 ? images.expand({-1, 3, -1, -1}) : images;
}

void set_trainable(nn::Module& module, bool trainable) {
  for (auto& parameter : module.parameters()) parameter.set_requires_grad(trainable);
}

torch::Tensor pad_to_multiple(const torch::Tensor& x, int64_t multiple) {
  const int64_t h = x.size(2), w = x.size(3);
  const int64_t bottom = (multiple - h % multiple) % multiple, right = (multiple - w % multiple) % multiple;
  if (bottom == 0 && right == 0) return x;
  return mirror_pad(x, 0, right, 0, bottom);
}

namespace {
Pix2PixOptions validated(const Pix2PixOptions& o) {
  unet_depth(o.image_size);
  check(o.input_channels >= 1 && o.output_channels >= 1, "pix2pix: expected positive channel counts, found ",
        o.input_channels, " and ", o.output_channels);
  check(is_one_of(o.gan_loss, {"nonsaturating", "lsgan"}), "--gan-loss: expected nonsaturating or lsgan, found '",
        o.gan_loss, "'");
  return o;
}

}  // namespace

Pix2PixFamily::Pix2PixFamily(const Pix2PixOptions& options, torch::Device device)
    : options_(validated(options)),
      device_(device),
      generator_(options_.input_channels, options_.output_channels, unet_depth(options_.image_size),
                 options_.g_features, options_.dropout),
      discriminator_(options_.input_channels + options_.output_channels, options_.d_features, options_.d_layers),
      optimizer_g_((generator_->to(device), generator_->parameters()), options_.optimizer),
      optimizer_d_((discriminator_->to(device), discriminator_->parameters()), options_.optimizer) {}

std::vector<Optimizer*> Pix2PixFamily::optimizers() {
  if (!options_.adversarial) return {&optimizer_g_};
  return {&optimizer_g_, &optimizer_d_};
}

StepMetrics Pix2PixFamily::train_step(const torch::Tensor& images, const torch::Tensor&) {
  generator_->train();
  discriminator_->train();
  const int64_t cin = options_.input_channels;
  auto input = images.narrow(1, 0, cin);                           // (B, Cin, S, S)
  auto target = images.narrow(1, cin, options_.output_channels);   // (B, Cout, S, S)
  auto fake = generator_->forward(input);
  StepMetrics metrics;
  torch::Tensor gan_term;
  if (options_.adversarial) {
    // D: real pairs (input, target) against (input, G(input)), G's output detached.
    auto real_scores = discriminator_->forward(torch::cat({input, target}, 1));
    auto fake_scores = discriminator_->forward(torch::cat({input, fake.detach()}, 1));
    auto loss_d = translation_d_loss(options_.gan_loss, real_scores, fake_scores);
    optimizer_d_.step(loss_d);
    // G against the updated D; D's weights get no gradients from it.
    set_trainable(*discriminator_, false);
    gan_term = translation_g_loss(options_.gan_loss, discriminator_->forward(torch::cat({input, fake}, 1)));
    set_trainable(*discriminator_, true);
    metrics["loss_d"] = metric(loss_d);
    metrics["loss_g_gan"] = metric(gan_term);
    metrics["d_real"] = metric(real_scores.mean());
    metrics["d_fake"] = metric(fake_scores.mean());
  }
  auto l1 = (fake - target).abs().mean();
  auto loss = options_.adversarial ? gan_term + options_.lambda_l1 * l1 : options_.lambda_l1 * l1;
  optimizer_g_.step(loss);
  torch::NoGradGuard no_grad;
  metrics["loss"] = metric(loss);
  metrics["l1"] = metric(l1 / 2);  // on the 0-1 scale
  metrics["psnr"] = metric(psnr((fake + 1) / 2, (target + 1) / 2).mean());
  return metrics;
}

torch::Tensor Pix2PixFamily::generate(const torch::Tensor& input) {
  torch::NoGradGuard no_grad;
  generator_->eval();
  const int64_t multiple = int64_t(1) << generator_->depth;
  auto padded = pad_to_multiple(input.to(device_), multiple);
  return generator_->forward(padded).narrow(2, 0, input.size(2)).narrow(3, 0, input.size(3));
}

Metrics Pix2PixFamily::evaluate(const Dataset& data, int64_t batch_size) {
  const int64_t cin = options_.input_channels;
  Metrics total = sum_over_split(data.size(), batch_size, [&](int64_t start, int64_t n) -> StepMetrics {
    auto pairs = data.images.narrow(0, start, n);
    auto output = (generate(pairs.narrow(1, 0, cin)) + 1) / 2;
    auto target = (pairs.narrow(1, cin, options_.output_channels) + 1) / 2;
    double ssim_sum = 0;
    for (int64_t i = 0; i < n; ++i) ssim_sum += ssim(output[i].clamp(0, 1), target[i]);
    return {{"l1", (output - target).abs().flatten(1).mean(1).sum()},
            {"psnr", psnr(output.clamp(0, 1), target).sum()},
            {"ssim", metric(ssim_sum, output.device())}};
  });
  const double count = double(std::max<int64_t>(1, data.size()));
  return {{"loss", total["l1"] / count}, {"l1", total["l1"] / count}, {"psnr", total["psnr"] / count},
          {"ssim", total["ssim"] / count}};
}

int64_t Pix2PixFamily::input_channels(const std::string& direction) const {
  check(direction == "a2b", "--direction ", direction, ": a pix2pix run translates one way, from its input (--pairs ",
        options_.pairs, " --direction ", options_.direction, ") to its target; use a2b");
  return options_.input_channels;
}

torch::Tensor Pix2PixFamily::translate(const torch::Tensor& images, const std::string& direction) {
  check(images.dim() == 4 && images.size(1) == input_channels(direction), "translate: expected (N, ",
        options_.input_channels, ", H, W) images, found ", images.sizes());
  return ((generate(images * 2 - 1) + 1) / 2).clamp(0, 1);
}

std::pair<torch::Tensor, torch::Tensor> Pix2PixFamily::test_pairs(const torch::Tensor& examples) {
  const auto unit = (examples + 1) / 2;
  return {unit.narrow(1, 0, options_.input_channels), unit.narrow(1, options_.input_channels, options_.output_channels)};
}

Picture Pix2PixFamily::translation_picture(const Dataset& test, int64_t n) {
  n = std::min(n, test.size());
  check(n > 0, "translations: the test split is empty");
  const int64_t cin = options_.input_channels, cout = options_.output_channels, columns = std::min<int64_t>(8, n);
  const bool rgb = cin != cout;
  std::vector<torch::Tensor> rows;
  for (int64_t start = 0; start + columns <= n; start += columns) {
    auto pairs = test.images.narrow(0, start, columns);
    auto input = pairs.narrow(1, 0, cin);
    rows.push_back(gray_as_rgb(input, rgb));
    rows.push_back(gray_as_rgb(generate(input), rgb));
    rows.push_back(gray_as_rgb(pairs.narrow(1, cin, cout), rgb));
  }
  return {to_pixels(torch::cat(rows), pixel_range()), columns};  // per 8 examples: inputs, outputs, targets
}

std::map<std::string, Picture> Pix2PixFamily::pictures(const Dataset& test) {
  if (test.size() == 0) return {};
  return {{"translations", translation_picture(test, 16)}};
}

void Pix2PixFamily::save(torch::serialize::OutputArchive& archive) {
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

void Pix2PixFamily::load(torch::serialize::InputArchive& archive) {
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

namespace {
[[maybe_unused]] const bool registered_pix2pix = [] {
  ModelSpec spec;
  spec.name = "pix2pix";
  spec.description = "pix2pix (Isola et al. 2017): paired translation, U-Net + PatchGAN, GAN + 100 L1 (--no-gan: L1 only)";
  spec.data = ModelData::kImages;
  spec.pixel_range = PixelRange::kSymmetric;
  spec.item_name = "pair";
  spec.test_unit = "test pairs";
  spec.default_data = DataOptions{}.dir;
  spec.hint = "it translates images; use `deepgen translate RUN IN.png OUT.png`";
  spec.load_data = [](const DataRequest& request, nlohmann::json& options) {
    DataOptions data = request.data;
    if (!request.with_train) data.train_limit = 1;
    if (request.fit_options) data.image_size = options.at("image_size").get<int64_t>();
    const PairRequest pairs{options.at("pairs").get<std::string>(), options.at("direction").get<std::string>(),
                            request.seed};
    PairedSplits paired = load_pairs(data, pairs, PixelRange::kSymmetric, request.device);
    if (request.fit_options) {
      check(paired.input_channels == options.at("input_channels").get<int64_t>() &&
                paired.output_channels == options.at("output_channels").get<int64_t>(),
            "--data ", data.dir, ": its pairs have ", paired.input_channels, " -> ", paired.output_channels,
            " channels, the run was trained on ", options.at("input_channels"), " -> ", options.at("output_channels"));
    }
    options["input_channels"] = paired.input_channels;
    options["output_channels"] = paired.output_channels;
    options["image_size"] = paired.splits.image_size;
    DataSplits& splits = paired.splits;
    splits.summary = data.dir + " (" + splits.format + ", " + std::to_string(splits.train.size()) + " train / " +
                     std::to_string(splits.test.size()) + " test pairs, " + std::to_string(paired.input_channels) +
                     " -> " + std::to_string(paired.output_channels) + " channels, " +
                     std::to_string(splits.image_size) + "x" + std::to_string(splits.image_size) + ")";
    return splits;
  };
  bind_options<Pix2PixOptions, Pix2PixFamily>(spec, pix2pix_options());
  return register_model(std::move(spec), /*order=*/110);
}();
}  // namespace

}  // namespace deepgen
