#include "deepgen/models/cyclegan.h"

#include "deepgen/core/batch_shard.h"
#include "deepgen/core/error.h"
#include "deepgen/data/image_grid.h"
#include "deepgen/data/paired_images.h"
#include "deepgen/models/registry.h"
#include "deepgen/nn/image_quality.h"

namespace deepgen {
namespace nn = torch::nn;

const OptionSchema<CycleGanOptions>& cyclegan_options() {
  static const auto schema = OptionSchema<CycleGanOptions>()
      .choice("domains", &CycleGanOptions::domains, {"classes", "folders"},
              "The two domains: classes (--class-a and --class-b of labelled data) or folders (CycleGAN's "
              "DIR/trainA, trainB, testA, testB)")
      .number("class_a", &CycleGanOptions::class_a, "Domain A's class (--domains classes)", 0, 100000)
      .scope([](const OptionContext& c) { return c.options.at("domains") == "classes" ? "" : "--domains classes"; })
      .number("class_b", &CycleGanOptions::class_b, "Domain B's class (--domains classes)", 0, 100000)
      .scope([](const OptionContext& c) { return c.options.at("domains") == "classes" ? "" : "--domains classes"; })
      .positive("g_features", &CycleGanOptions::g_features, "Features of the generators' first layer (ngf)")
      .number("blocks", &CycleGanOptions::blocks, "Residual blocks per generator (0: 9 at 256 px and above, else 6)", 0, 64)
      .positive("d_features", &CycleGanOptions::d_features, "PatchGAN features at its first layer (ndf)")
      .number("d_layers", &CycleGanOptions::d_layers, "PatchGAN stride-2 layers (3: 70x70 patches)", 1, 6)
      .choice("gan_loss", &CycleGanOptions::gan_loss, {"lsgan", "nonsaturating"},
              "lsgan (least squares, the paper's) or nonsaturating (cross-entropy)")
      .number("lambda_cycle", &CycleGanOptions::lambda_cycle, "Weight of each cycle-consistency L1 term (0: the ablation)", 0.0, 1e6)
      .number("lambda_identity", &CycleGanOptions::lambda_identity,
              "Identity L1 terms as a fraction of --lambda-cycle (0: off)", 0.0, 1e6)
      .number("pool_size", &CycleGanOptions::pool_size, "Past translations each discriminator draws from (0: none)", 0, 100000)
      .from_data("channels_a", &CycleGanOptions::channels_a)
      .from_data("channels_b", &CycleGanOptions::channels_b)
      .from_data("image_size", &CycleGanOptions::image_size)
      .nested("optimizer", &CycleGanOptions::optimizer);
  return schema;
}
void to_json(nlohmann::json& j, const CycleGanOptions& o) { j = cyclegan_options().to_json(o); }
void from_json(const nlohmann::json& j, CycleGanOptions& o) { cyclegan_options().from_json(j, o, "model options of 'cyclegan'"); }

int64_t cyclegan_blocks(const CycleGanOptions& options) {
  if (options.blocks > 0) return options.blocks;
  return options.image_size >= 256 ? 9 : 6;
}

namespace {
nn::InstanceNorm2d cycle_norm(int64_t channels) { return nn::InstanceNorm2d(nn::InstanceNorm2dOptions(channels)); }
nn::ReflectionPad2d cycle_reflect(int64_t padding) { return nn::ReflectionPad2d(nn::ReflectionPad2dOptions(padding)); }
nn::Conv2d cycle_conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding));
}
}  // namespace

ResnetGeneratorBlockImpl::ResnetGeneratorBlockImpl(int64_t channels) {
  body = register_module("body", nn::Sequential(cycle_reflect(1), cycle_conv(channels, channels, 3), cycle_norm(channels), nn::ReLU(),
                                                cycle_reflect(1), cycle_conv(channels, channels, 3), cycle_norm(channels)));
}

ResnetGeneratorImpl::ResnetGeneratorImpl(int64_t in_channels, int64_t out_channels, int64_t features, int64_t blocks) {
  layers = nn::Sequential(cycle_reflect(3), cycle_conv(in_channels, features, 7), cycle_norm(features), nn::ReLU());
  for (int64_t level = 0; level < 2; ++level) {  // (N, f 2^l, H, W) -> (N, f 2^(l+1), H/2, W/2)
    const int64_t in = features << level;
    layers->push_back(cycle_conv(in, 2 * in, 3, 2, 1));
    layers->push_back(cycle_norm(2 * in));
    layers->push_back(nn::ReLU());
  }
  for (int64_t block = 0; block < blocks; ++block) layers->push_back(ResnetGeneratorBlock(4 * features));
  for (int64_t level = 2; level > 0; --level) {  // (N, f 2^l, H, W) -> (N, f 2^(l-1), 2H, 2W)
    const int64_t in = features << level;
    layers->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(in, in / 2, 3).stride(2).padding(1).output_padding(1)));
    layers->push_back(cycle_norm(in / 2));
    layers->push_back(nn::ReLU());
  }
  layers->push_back(cycle_reflect(3));
  layers->push_back(cycle_conv(features, out_channels, 7));
  layers->push_back(nn::Tanh());
  register_module("layers", layers);
  translation_init(*this);
}

torch::Tensor ImagePool::query(const torch::Tensor& images) {
  auto fresh = images.detach();
  if (capacity_ == 0) return fresh;
  const int64_t n = fresh.size(0);
  const auto draws = step_rand({n, 2});  // per image: keep or swap, and which slot
  auto* u = draws.data_ptr<float>();
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < n; ++i) {
    auto image = fresh[i].clone();
    if (size() < capacity_) {
      stored_.push_back(image);
      out.push_back(image);
    } else if (u[2 * i] < 0.5f) {
      const auto slot = std::min<int64_t>(size() - 1, int64_t(u[2 * i + 1] * float(size())));
      out.push_back(stored_[size_t(slot)]);
      stored_[size_t(slot)] = image;
    } else {
      out.push_back(image);
    }
  }
  return torch::stack(out);
}

torch::Tensor ImagePool::contents() const { return stored_.empty() ? torch::Tensor() : torch::stack(stored_); }

void ImagePool::restore(const torch::Tensor& contents) {
  stored_.clear();
  if (!contents.defined() || contents.numel() == 0) return;
  check(contents.size(0) <= capacity_, "image pool: the checkpoint holds ", contents.size(0),
        " images, more than its capacity of ", capacity_);
  for (int64_t i = 0; i < contents.size(0); ++i) stored_.push_back(contents[i].clone());
}

CycleTerms cyclegan_generator_loss(const CycleGanOptions& o, const torch::Tensor& scores_fake_b,
                                   const torch::Tensor& scores_fake_a, const torch::Tensor& a,
                                   const torch::Tensor& cycled_a, const torch::Tensor& b,
                                   const torch::Tensor& cycled_b, const torch::Tensor& same_b,
                                   const torch::Tensor& same_a) {
  CycleTerms t;
  t.gan = translation_g_loss(o.gan_loss, scores_fake_b) + translation_g_loss(o.gan_loss, scores_fake_a);
  t.cycle_a = (cycled_a - a).abs().mean();
  t.cycle_b = (cycled_b - b).abs().mean();
  t.total = t.gan + o.lambda_cycle * (t.cycle_a + t.cycle_b);
  if (o.lambda_identity > 0) {
    t.identity_b = (same_b - b).abs().mean();
    t.identity_a = (same_a - a).abs().mean();
    t.total = t.total + o.lambda_cycle * o.lambda_identity * (t.identity_a + t.identity_b);
  }
  return t;
}

namespace {
CycleGanOptions validated(const CycleGanOptions& o) {
  check(o.channels_a >= 1 && o.channels_b >= 1, "cyclegan: expected positive channel counts, found ", o.channels_a,
        " and ", o.channels_b);
  check(o.image_size >= 8 && o.image_size % 4 == 0, "--image-size: the ResNet generator halves the side twice, so ",
        "it must be a multiple of 4 and at least 8, found ", o.image_size);
  check(is_one_of(o.gan_loss, {"lsgan", "nonsaturating"}), "--gan-loss: expected lsgan or nonsaturating, found '",
        o.gan_loss, "'");
  check(o.lambda_identity == 0 || o.channels_a == o.channels_b, "--lambda-identity: the identity loss feeds B images ",
        "to G_ab, which needs domains with the same channels; A has ", o.channels_a, ", B has ", o.channels_b,
        " (give --lambda-identity 0)");
  check(o.lambda_identity == 0 || o.lambda_cycle > 0, "--lambda-identity: it is a fraction of --lambda-cycle, which ",
        "is 0; give --lambda-identity 0 too");
  check(patch_last_norm_side(o.image_size, o.d_layers) >= 2, "--d-layers ", o.d_layers, ": a PatchGAN of ", o.d_layers,
        " stride-2 layers leaves ", patch_last_norm_side(o.image_size, o.d_layers), " pixels on a side of ",
        o.image_size, "-pixel images before its last instance norm; it needs at least 2 (fewer --d-layers)");
  return o;
}

// The parameters of two networks moved to `device`, for the one optimizer both train with.
std::vector<torch::Tensor> joint_parameters(nn::Module& first, nn::Module& second, torch::Device device) {
  first.to(device);
  second.to(device);
  auto parameters = first.parameters();
  for (auto& parameter : second.parameters()) parameters.push_back(parameter);
  return parameters;
}
}  // namespace

CycleGanFamily::CycleGanFamily(const CycleGanOptions& options, torch::Device device)
    : options_(validated(options)),
      device_(device),
      g_ab_(options_.channels_a, options_.channels_b, options_.g_features, cyclegan_blocks(options_)),
      g_ba_(options_.channels_b, options_.channels_a, options_.g_features, cyclegan_blocks(options_)),
      d_a_(options_.channels_a, options_.d_features, options_.d_layers, /*instance_norm=*/true),
      d_b_(options_.channels_b, options_.d_features, options_.d_layers, /*instance_norm=*/true),
      optimizer_g_(joint_parameters(*g_ab_, *g_ba_, device), options_.optimizer),
      optimizer_d_(joint_parameters(*d_a_, *d_b_, device), options_.optimizer),
      pool_a_(options_.pool_size),
      pool_b_(options_.pool_size) {}

std::string CycleGanFamily::data_parallel_limit() const {
  if (options_.pool_size == 0) return "";
  return "cyclegan's pools of past translations are filled from every example of each step, which no single rank "
         "holds under data-parallel training; train it in one process (or with --pool-size 0)";
}

StepMetrics CycleGanFamily::train_step(const torch::Tensor& images, const torch::Tensor&) {
  for (const auto& [name, net] : networks()) net->train();
  const auto a = images.narrow(1, 0, options_.channels_a);                       // (B, Ca, S, S)
  const auto b = images.narrow(1, options_.channels_a, options_.channels_b);     // (B, Cb, S, S)
  // Both generators against the discriminators as they are (their weights get no gradients).
  set_trainable(*d_a_, false);
  set_trainable(*d_b_, false);
  const auto fake_b = g_ab_->forward(a), fake_a = g_ba_->forward(b);
  const bool identity = options_.lambda_identity > 0;
  const CycleTerms g = cyclegan_generator_loss(options_, d_b_->forward(fake_b), d_a_->forward(fake_a), a,
                                               g_ba_->forward(fake_b), b, g_ab_->forward(fake_a),
                                               identity ? g_ab_->forward(b) : torch::Tensor(),
                                               identity ? g_ba_->forward(a) : torch::Tensor());
  optimizer_g_.step(g.total);
  set_trainable(*d_a_, true);
  set_trainable(*d_b_, true);
  // Both discriminators: real images against translations drawn through the pools.
  const auto pooled_b = pool_b_.query(fake_b), pooled_a = pool_a_.query(fake_a);
  const auto real_b = d_b_->forward(b), real_a = d_a_->forward(a);
  const auto scored_b = d_b_->forward(pooled_b), scored_a = d_a_->forward(pooled_a);
  const auto loss_d = translation_d_loss(options_.gan_loss, real_b, scored_b) +
                      translation_d_loss(options_.gan_loss, real_a, scored_a);
  optimizer_d_.step(loss_d);
  torch::NoGradGuard no_grad;
  StepMetrics metrics;
  metrics["loss"] = metric(g.total);
  metrics["loss_g_gan"] = metric(g.gan);
  metrics["cycle"] = metric((g.cycle_a + g.cycle_b) / 4);  // mean of the two, on the 0-1 scale
  if (identity) metrics["identity"] = metric((g.identity_a + g.identity_b) / 4);
  metrics["loss_d"] = metric(loss_d);
  metrics["d_real"] = metric((real_a.mean() + real_b.mean()) / 2);
  metrics["d_fake"] = metric((scored_a.mean() + scored_b.mean()) / 2);
  return metrics;
}

torch::Tensor CycleGanFamily::generate(ResnetGenerator& generator, const torch::Tensor& input) {
  torch::NoGradGuard no_grad;
  generator->eval();
  check(input.size(2) >= 8 && input.size(3) >= 8, "translate: a CycleGAN generator needs images of at least 8x8 ",
        "pixels, found ", input.size(3), "x", input.size(2));
  auto padded = pad_to_multiple(input.to(device_), 4);
  return generator->forward(padded).narrow(2, 0, input.size(2)).narrow(3, 0, input.size(3));
}

Metrics CycleGanFamily::evaluate(const Dataset& data, int64_t batch_size) {
  Metrics out;
  for (const std::string domain : {"a", "b"}) {
    const auto images = domain_images(data, domain, options_.channels_a);
    auto& there = domain == "a" ? g_ab_ : g_ba_;
    auto& back = domain == "a" ? g_ba_ : g_ab_;
    Metrics total = sum_over_split(images.size(0), batch_size, [&](int64_t start, int64_t n) -> StepMetrics {
      const auto real = images.narrow(0, start, n);
      const auto cycled = (generate(back, generate(there, real)) + 1) / 2;
      const auto truth = (real.to(device_) + 1) / 2;
      return {{"l1", (cycled - truth).abs().flatten(1).mean(1).sum()}, {"psnr", psnr(cycled.clamp(0, 1), truth).sum()}};
    });
    const double count = double(std::max<int64_t>(1, images.size(0)));
    out["cycle_l1_" + domain] = total["l1"] / count;
    out["cycle_psnr_" + domain] = total["psnr"] / count;
  }
  out["loss"] = (out["cycle_l1_a"] + out["cycle_l1_b"]) / 2;
  return out;
}

int64_t CycleGanFamily::input_channels(const std::string& direction) const {
  check(direction == "a2b" || direction == "b2a", "--direction: expected a2b or b2a, found '", direction, "'");
  return direction == "a2b" ? options_.channels_a : options_.channels_b;
}

torch::Tensor CycleGanFamily::translate(const torch::Tensor& images, const std::string& direction) {
  check(images.dim() == 4 && images.size(1) == input_channels(direction), "translate: expected (N, ",
        input_channels(direction), ", H, W) images for --direction ", direction, ", found ", images.sizes());
  auto& generator = direction == "a2b" ? g_ab_ : g_ba_;
  return ((generate(generator, images * 2 - 1) + 1) / 2).clamp(0, 1);
}

std::pair<torch::Tensor, torch::Tensor> CycleGanFamily::test_pairs(const torch::Tensor& examples) {
  const auto unit = (examples + 1) / 2;
  return {unit.narrow(1, 0, options_.channels_a), unit.narrow(1, options_.channels_a, options_.channels_b)};
}

torch::Tensor CycleGanFamily::test_domain(const Dataset& test, const std::string& domain) {
  return (domain_images(test, domain, options_.channels_a) + 1) / 2;
}

Picture CycleGanFamily::translation_picture(const Dataset& test, int64_t n) {
  const bool rgb = options_.channels_a != options_.channels_b;
  std::vector<torch::Tensor> rows;
  int64_t columns = 0;
  for (const std::string domain : {"a", "b"}) {
    const auto images = domain_images(test, domain, options_.channels_a);
    check(images.size(0) > 0, "translations: the test split has no images of domain ", domain);
    columns = std::min<int64_t>({8, n, images.size(0)});
    auto& there = domain == "a" ? g_ab_ : g_ba_;
    auto& back = domain == "a" ? g_ba_ : g_ab_;
    const auto real = images.narrow(0, 0, columns).to(device_);
    const auto translated = generate(there, real);
    rows.push_back(gray_as_rgb(real, rgb));
    rows.push_back(gray_as_rgb(translated, rgb));
    rows.push_back(gray_as_rgb(generate(back, translated), rgb));
  }
  // Both domains need the same row length for one grid.
  const int64_t width = std::min(rows[0].size(0), rows[3].size(0));
  for (auto& row : rows) row = row.narrow(0, 0, width);
  return {to_pixels(torch::cat(rows), pixel_range()), width};
}

std::map<std::string, Picture> CycleGanFamily::pictures(const Dataset& test) {
  if (test.size() == 0) return {};
  return {{"translations", translation_picture(test, 8)}};
}

std::map<std::string, nn::Module*> CycleGanFamily::networks() {
  return {{"generator_ab", g_ab_.get()}, {"generator_ba", g_ba_.get()}, {"discriminator_a", d_a_.get()},
          {"discriminator_b", d_b_.get()}};
}

void CycleGanFamily::save(torch::serialize::OutputArchive& archive) {
  for (const auto& [name, net] : networks()) {
    torch::serialize::OutputArchive part;
    net->save(part);
    archive.write(name, part);
  }
  torch::serialize::OutputArchive opt_g, opt_d;
  optimizer_g_.save(opt_g);
  optimizer_d_.save(opt_d);
  archive.write("optimizer_g", opt_g);
  archive.write("optimizer_d", opt_d);
  if (!Optimizer::WeightsOnly::active()) {  // the pools are training state, like the optimizers'
    for (const auto& [name, pool] : {std::pair<const char*, ImagePool*>{"pool_a", &pool_a_}, {"pool_b", &pool_b_}}) {
      const auto contents = pool->contents();
      archive.write(name, contents.defined() ? contents.cpu() : torch::zeros({0}), /*is_buffer=*/true);
    }
  }
}

void CycleGanFamily::load(torch::serialize::InputArchive& archive) {
  for (const auto& [name, net] : networks()) {
    torch::serialize::InputArchive part;
    archive.read(name, part);
    net->load(part);
    net->to(device_);
  }
  torch::serialize::InputArchive opt_g, opt_d;
  archive.read("optimizer_g", opt_g);
  archive.read("optimizer_d", opt_d);
  optimizer_g_.load(opt_g);
  optimizer_d_.load(opt_d);
  if (!Optimizer::WeightsOnly::active()) {
    for (const auto& [name, pool] : {std::pair<const char*, ImagePool*>{"pool_a", &pool_a_}, {"pool_b", &pool_b_}}) {
      torch::Tensor contents;
      archive.read(name, contents, /*is_buffer=*/true);
      pool->restore(contents.numel() == 0 ? torch::Tensor() : contents.to(device_));
    }
  }
}

namespace {
[[maybe_unused]] const bool registered_cyclegan = [] {
  ModelSpec spec;
  spec.name = "cyclegan";
  spec.description = "CycleGAN (Zhu et al. 2017): unpaired translation both ways, 2 ResNet generators + 2 PatchGANs, "
                     "LSGAN + 10 cycle + 5 identity";
  spec.data = ModelData::kImages;
  spec.pixel_range = PixelRange::kSymmetric;
  spec.item_name = "pair";
  spec.test_unit = "test images of A and B";
  spec.default_data = DataOptions{}.dir;
  spec.hint = "it translates images both ways; use `deepgen translate RUN IN.png OUT.png --direction a2b|b2a`";
  spec.load_data = [](const DataRequest& request, nlohmann::json& options) {
    DataOptions data = request.data;
    if (!request.with_train) data.train_limit = 1;
    if (request.fit_options) data.image_size = options.at("image_size").get<int64_t>();
    const UnpairedRequest unpaired{options.at("domains").get<std::string>(), options.at("class_a").get<int64_t>(),
                                   options.at("class_b").get<int64_t>(), request.seed};
    UnpairedSplits domains = load_unpaired(data, unpaired, PixelRange::kSymmetric, request.device);
    if (request.fit_options) {
      check(domains.channels_a == options.at("channels_a").get<int64_t>() &&
                domains.channels_b == options.at("channels_b").get<int64_t>(),
            "--data ", data.dir, ": its domains have ", domains.channels_a, " and ", domains.channels_b,
            " channels, the run was trained on ", options.at("channels_a"), " and ", options.at("channels_b"));
    }
    options["channels_a"] = domains.channels_a;
    options["channels_b"] = domains.channels_b;
    options["image_size"] = domains.splits.image_size;
    DataSplits& splits = domains.splits;
    splits.summary = data.dir + " (" + splits.format + "; A: " + std::to_string(domains.train_a) + " train / " +
                     std::to_string(domains.test_a) + " test, B: " + std::to_string(domains.train_b) + " train / " +
                     std::to_string(domains.test_b) + " test images, " + std::to_string(domains.channels_a) + " and " +
                     std::to_string(domains.channels_b) + " channels, " + std::to_string(splits.image_size) + "x" +
                     std::to_string(splits.image_size) + ")";
    return splits;
  };
  bind_options<CycleGanOptions, CycleGanFamily>(spec, cyclegan_options());
  return register_model(std::move(spec), /*order=*/115);
}();
}  // namespace

}  // namespace deepgen
