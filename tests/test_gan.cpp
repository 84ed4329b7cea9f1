// GANs: the three losses against hand-computed values and gradients, k discriminator steps per
// generator step, conditioning, EMA, checkpoints, the Frechet distance, inpainting and arithmetic.
#include <gtest/gtest.h>

#include <cmath>

#include "deepgen/nn/batch_norm.h"
#include "deepgen/apps/inpainting.h"
#include "deepgen/core/error.h"
#include "deepgen/evaluation/generator_quality.h"
#include "deepgen/evaluation/latent.h"
#include "deepgen/models/gan.h"
#include "deepgen/models/registry.h"
#include "deepgen/nn/spectral_norm.h"
#include "deepgen/training/checkpoint.h"
#include "test_util.h"

using namespace deepgen;
using deepgen::testing::TempDir;

namespace {

double softplus(double x) { return std::log1p(std::exp(x)); }
double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// d loss / d scores for a loss of the given scores.
torch::Tensor gradient(const std::function<torch::Tensor(const torch::Tensor&)>& loss, torch::Tensor scores) {
  scores = scores.clone().requires_grad_(true);
  return torch::autograd::grad({loss(scores)}, {scores})[0];
}

std::vector<torch::Tensor> snapshot(torch::nn::Module& module) {
  std::vector<torch::Tensor> copies;
  for (const auto& p : module.parameters()) copies.push_back(p.detach().clone());
  return copies;
}

bool changed(torch::nn::Module& module, const std::vector<torch::Tensor>& before) {
  auto after = module.parameters();
  for (size_t i = 0; i < after.size(); ++i) {
    if (!torch::equal(after[i], before[i])) return true;
  }
  return false;
}

// The family written to a checkpoint at `path` and read back.
std::unique_ptr<Family> saved_and_loaded(GanFamily& family, const std::string& path) {
  RunState state;
  state.kind = "gan";
  state.model_options = family.options();
  state.config = {{"model", "gan"}};
  save_checkpoint(path, family, state);
  return load_checkpoint(path, torch::kCPU, nullptr);
}

GanOptions tiny(const std::string& arch) {
  GanOptions o;
  o.arch = arch;
  o.g_features = 8;
  o.d_features = 8;
  o.hidden = 16;
  o.latent_dim = 8;
  return o;
}

}  // namespace

TEST(GanLoss, DiscriminatorLossesMatchHandComputedValues) {
  const auto real = torch::tensor({0.0f, 2.0f}), fake = torch::tensor({0.0f, -1.0f});
  // -[log D(x) + log(1 - D(G(z)))] = softplus(-real) + softplus(fake), batch means.
  const double logistic = (softplus(0) + softplus(-2)) / 2 + (softplus(0) + softplus(-1)) / 2;
  for (const std::string loss : {"minimax", "nonsaturating"}) {
    EXPECT_NEAR(gan_discriminator_loss(loss, real, fake).item<double>(), logistic, 1e-6) << loss;
  }
  // One-sided smoothing 0.1: real targets 0.9: -(0.9 log s(r) + 0.1 log(1 - s(r))).
  auto smoothed_term = [](double r) { return 0.9 * softplus(-r) + 0.1 * softplus(r); };
  const double smoothed = (smoothed_term(0) + smoothed_term(2)) / 2 + (softplus(0) + softplus(-1)) / 2;
  EXPECT_NEAR(gan_discriminator_loss("minimax", real, fake, 0.1).item<double>(), smoothed, 1e-6);
  // LSGAN: 1/2 mean((r - 1)^2) + 1/2 mean(f^2) = 1/2 (1 + 1)/2 + 1/2 (0 + 1)/2.
  EXPECT_NEAR(gan_discriminator_loss("lsgan", real, fake).item<double>(), 0.5 + 0.25, 1e-6);
  EXPECT_NEAR(gan_discriminator_loss("lsgan", real, fake, 0.1).item<double>(),
              0.5 * (0.81 + 1.21) / 2 + 0.25, 1e-6);
  EXPECT_THROW(gan_discriminator_loss("wasserstein", real, fake), Error);

  // Gradients, batch of 2, smoothing 0.1 (real target t = 0.9):
  // logistic: d/dr = (sigmoid(r) - t) / 2, d/df = sigmoid(f) / 2; lsgan: d/dr = (r - t) / 2, d/df = f / 2.
  for (const std::string loss : {"nonsaturating", "lsgan"}) {
    auto r = real.clone().requires_grad_(true), f = fake.clone().requires_grad_(true);
    const auto grads = torch::autograd::grad({gan_discriminator_loss(loss, r, f, 0.1)}, {r, f});
    for (int i = 0; i < 2; ++i) {
      const double ri = real[i].item<double>(), fi = fake[i].item<double>();
      const double want_r = loss == "lsgan" ? (ri - 0.9) / 2 : (sigmoid(ri) - 0.9) / 2;
      const double want_f = loss == "lsgan" ? fi / 2 : sigmoid(fi) / 2;
      EXPECT_NEAR(grads[0][i].item<double>(), want_r, 1e-6) << loss;
      EXPECT_NEAR(grads[1][i].item<double>(), want_f, 1e-6) << loss;
    }
  }
}

TEST(GanLoss, GeneratorLossesAndGradientsMatchHandComputedValues) {
  const auto fake = torch::tensor({-3.0f, 1.0f});
  // minimax: mean log(1 - sigmoid(s)); nonsaturating: mean -log sigmoid(s); lsgan: mean 1/2 (s - 1)^2.
  EXPECT_NEAR(gan_generator_loss("minimax", fake).item<double>(), (std::log(1 - sigmoid(-3)) + std::log(1 - sigmoid(1))) / 2, 1e-6);
  EXPECT_NEAR(gan_generator_loss("nonsaturating", fake).item<double>(), -(std::log(sigmoid(-3)) + std::log(sigmoid(1))) / 2, 1e-6);
  EXPECT_NEAR(gan_generator_loss("lsgan", fake).item<double>(), (0.5 * 16 + 0) / 2, 1e-6);

  const auto minimax = gradient([](const torch::Tensor& s) { return gan_generator_loss("minimax", s); }, fake);
  const auto nonsaturating = gradient([](const torch::Tensor& s) { return gan_generator_loss("nonsaturating", s); }, fake);
  const auto lsgan = gradient([](const torch::Tensor& s) { return gan_generator_loss("lsgan", s); }, fake);
  // d/ds log(1 - sigmoid(s)) = -sigmoid(s); d/ds -log sigmoid(s) = -(1 - sigmoid(s)); d/ds 1/2 (s-1)^2 = s - 1.
  for (int i = 0; i < 2; ++i) {
    const double s = fake[i].item<double>();
    EXPECT_NEAR(minimax[i].item<double>(), -sigmoid(s) / 2, 1e-6);
    EXPECT_NEAR(nonsaturating[i].item<double>(), -(1 - sigmoid(s)) / 2, 1e-6);
    EXPECT_NEAR(lsgan[i].item<double>(), (s - 1) / 2, 1e-6);
  }
  // The lecture's point: where D confidently rejects a sample (s = -3), minimax's gradient vanishes
  // (saturates) while the non-saturating loss still pushes hard.
  EXPECT_LT(std::abs(minimax[0].item<double>()), 0.03);
  EXPECT_GT(std::abs(nonsaturating[0].item<double>()), 0.45);
}

TEST(Gan, ShapesForBothArchitecturesWithAndWithoutLabels) {
  for (const std::string arch : {"mlp", "dcgan"}) {
    for (const bool conditional : {false, true}) {
      for (const int64_t channels : {1, 3}) {
        GanOptions o = tiny(arch);
        o.conditional = conditional;
        o.channels = channels;
        o.image_size = channels == 1 ? 28 : 32;
        GanGenerator generator(o);
        GanDiscriminator discriminator(o);
        const auto labels = conditional ? torch::tensor({0, 3, 9}, torch::kLong) : torch::Tensor();
        const auto images = generator->forward(torch::randn({3, o.latent_dim}), labels);
        EXPECT_EQ(images.sizes(), (std::vector<int64_t>{3, channels, o.image_size, o.image_size})) << arch;
        EXPECT_LE(images.abs().max().item<float>(), 1.0f);
        EXPECT_EQ(discriminator->forward(images, labels).sizes(), (std::vector<int64_t>{3})) << arch;
      }
    }
  }
  GanOptions bad = tiny("mlp");
  bad.loss = "hinge";
  EXPECT_THROW(GanGenerator{bad}, Error);
  bad = tiny("resnet");
  EXPECT_THROW(GanFamily(bad, torch::kCPU), Error);
}

TEST(Gan, KDiscriminatorStepsPerGeneratorStep) {
  torch::manual_seed(0);
  GanOptions o = tiny("mlp");
  o.d_steps = 3;
  GanFamily family(o, torch::kCPU);
  const auto real = torch::rand({8, 1, 28, 28}) * 2 - 1;
  const auto labels = torch::zeros({8}, torch::kLong);
  for (int step = 1; step <= 6; ++step) {
    const auto g_before = snapshot(*family.generator());
    const auto d_before = snapshot(*family.discriminator());
    const Metrics metrics = MetricSums::of(family.train_step(real, labels));
    const bool g_turn = step % 3 == 0;
    EXPECT_TRUE(changed(*family.discriminator(), d_before)) << "step " << step;
    EXPECT_EQ(changed(*family.generator(), g_before), g_turn) << "step " << step;
    EXPECT_EQ(metrics.at("g_update"), g_turn ? 1.0 : 0.0);
  }
  EXPECT_EQ(family.d_updates(), 6);
  EXPECT_EQ(family.g_updates(), 2);
}

TEST(Gan, EmaGeneratorTrailsTheTrainedOne) {
  torch::manual_seed(1);
  GanOptions o = tiny("mlp");
  o.ema_decay = 0.5;
  GanFamily family(o, torch::kCPU);
  const auto ema_before = snapshot(*family.sampling_generator());
  const auto g_before = snapshot(*family.generator());
  family.train_step(torch::rand({8, 1, 28, 28}) * 2 - 1, torch::zeros({8}, torch::kLong));
  // First update: decay = min(0.5, 1/10) = 0.1, so ema = 0.1 * old + 0.9 * new.
  const auto g_after = family.generator()->parameters();
  const auto ema_after = family.sampling_generator()->parameters();
  for (size_t i = 0; i < g_after.size(); ++i) {
    EXPECT_TRUE(torch::allclose(ema_after[i], 0.1 * ema_before[i] + 0.9 * g_after[i], 1e-5, 1e-6));
    EXPECT_TRUE(torch::equal(ema_before[i], g_before[i]));  // starts as a copy of G
  }
  o.ema_decay = 0;
  GanFamily plain(o, torch::kCPU);
  EXPECT_EQ(&plain.sampling_generator(), &plain.generator());
}

TEST(Gan, ConditionalSamplingGivesTheRequestedClass) {
  // Class 0: the left half is bright; class 1: the right half. A tiny conditional GAN must learn which
  // half to light for each label.
  torch::manual_seed(2);
  const int64_t n = 256, side = 8;
  auto labels = torch::arange(n, torch::kLong).remainder(2);
  auto images = -0.8 * torch::ones({n, 1, side, side});
  using torch::indexing::Slice;
  auto left = labels.eq(0).nonzero().view(-1), right = labels.eq(1).nonzero().view(-1);
  images.index_put_({left, Slice(), Slice(), Slice(0, side / 2)}, 0.8);
  images.index_put_({right, Slice(), Slice(), Slice(side / 2, side)}, 0.8);
  images += 0.05 * torch::randn_like(images);

  GanOptions o = tiny("mlp");
  o.conditional = true;
  o.classes = 2;
  o.image_size = side;
  o.hidden = 64;
  GanFamily family(o, torch::kCPU);
  for (int step = 0; step < 1200; ++step) {
    const auto index = torch::randint(n, {64}, torch::kLong);
    family.train_step(images.index_select(0, index), labels.index_select(0, index));
  }
  for (int64_t label : {0, 1}) {
    family.set_condition(label);
    const auto samples = family.sample(100, /*seed=*/7);
    const auto left_mean = samples.index({Slice(), Slice(), Slice(), Slice(0, side / 2)}).mean({1, 2, 3});
    const auto right_mean = samples.index({Slice(), Slice(), Slice(), Slice(side / 2, side)}).mean({1, 2, 3});
    const double correct = (label == 0 ? left_mean > right_mean : right_mean > left_mean).to(torch::kDouble).mean().item<double>();
    // An unconditional generator would light the requested half for about half of the samples.
    EXPECT_GT(correct, 0.8) << "class " << label << " left " << left_mean.mean().item<double>() << " right "
                            << right_mean.mean().item<double>();
  }
  EXPECT_THROW(family.set_condition(2), Error);
  GanFamily unconditional(tiny("mlp"), torch::kCPU);
  EXPECT_THROW(unconditional.set_condition(0), Error);
}

TEST(Gan, CheckpointRestoresNetworksEmaAndCounters) {
  TempDir dir("gan-ckpt");
  torch::manual_seed(4);
  GanOptions o = tiny("dcgan");
  o.d_steps = 2;
  auto family = std::make_unique<GanFamily>(o, torch::kCPU);
  for (int i = 0; i < 3; ++i) family->train_step(torch::rand({8, 1, 28, 28}) * 2 - 1, torch::zeros({8}, torch::kLong));
  RunState state;
  state.kind = "gan";
  state.model_options = family->options();
  state.config = {{"model", "gan"}};
  save_checkpoint(dir / "checkpoint.pt", *family, state);
  auto loaded = load_checkpoint(dir / "checkpoint.pt", torch::kCPU, nullptr);
  auto* gan = dynamic_cast<GanFamily*>(loaded.get());
  ASSERT_NE(gan, nullptr);
  EXPECT_EQ(gan->d_updates(), 3);
  EXPECT_EQ(gan->g_updates(), 1);
  EXPECT_TRUE(torch::equal(gan->sample(4, 9), capability<ImageSampler>(*family)->sample(4, 9)));
}

TEST(FrechetDistance, ZeroForASetWithItselfAndGrowsWithNoise) {
  torch::manual_seed(5);
  const auto features = torch::randn({2000, 6}) * torch::linspace(0.5, 2.0, 6);
  EXPECT_NEAR(frechet_distance(features, features), 0.0, 1e-6);
  double previous = 0;
  for (const double noise : {0.1, 0.5, 1.0}) {
    const double distance = frechet_distance(features, features + noise * torch::randn_like(features));
    EXPECT_GT(distance, previous) << noise;
    previous = distance;
  }
  // Two Gaussians in closed form: N(0, I) vs N(1, 4 I) in 2-D: |mu|^2 + Tr(I + 4I - 2*2I) = 2 + 2 = 4.
  const auto a = torch::randn({40000, 2}, torch::kDouble), b = 1 + 2 * torch::randn({40000, 2}, torch::kDouble);
  EXPECT_NEAR(frechet_distance(a, b), 4.0, 0.15);
  EXPECT_THROW(frechet_distance(a, torch::randn({10, 3})), Error);
}

TEST(Inpainting, ContextualWeightsAndPoissonBlend) {
  // A 5x5 mask with its centre missing: with a 3x3 window, each of the 8 neighbours sees 1 missing of 9.
  auto mask = torch::ones({1, 1, 5, 5});
  mask.index_put_({0, 0, 2, 2}, 0);
  const auto weights = contextual_weights(mask, 3);
  EXPECT_NEAR(weights[0][0][1][1].item<double>(), 1.0 / 9, 1e-6);
  EXPECT_EQ(weights[0][0][2][2].item<double>(), 0.0);  // missing pixels have no weight
  EXPECT_EQ(weights[0][0][0][0].item<double>(), 0.0);  // far from the hole
  // Poisson blending matches gradients: a source that differs from the target by a constant fills the
  // hole with the target itself.
  const auto ramp = torch::linspace(-1, 1, 16);
  const auto target = (ramp.view({1, 1, 16, 1}) * ramp.view({1, 1, 1, 16})).expand({1, 1, 16, 16}).clone();
  const auto hole = named_mask("center", 16);
  const auto blended = poisson_blend(target, target + 0.4, hole, 2000);
  EXPECT_LT((blended - target).abs().max().item<double>(), 1e-3);
  EXPECT_THROW(named_mask("circle", 16), Error);
}

TEST(Inpainting, KeepsKnownPixelsExactlyAndLowersTheLoss) {
  torch::manual_seed(6);
  GanOptions o = tiny("mlp");
  GanFamily family(o, torch::kCPU);
  const auto images = torch::rand({2, 1, 28, 28}) * 2 - 1;
  const auto mask = named_mask("left", 28);
  InpaintOptions options;
  options.restarts = 2;
  options.steps = 0;
  const InpaintResult start = inpaint(family, images, mask, options);
  options.steps = 60;
  for (const bool poisson : {false, true}) {
    options.poisson = poisson;
    const InpaintResult result = inpaint(family, images, mask, options);
    const auto known = mask.expand_as(images) > 0.5;
    EXPECT_TRUE(torch::equal(result.completed.masked_select(known), images.masked_select(known)));
    EXPECT_FALSE(torch::equal(result.completed, images));  // the hole is filled with something new
    EXPECT_TRUE(torch::all(result.loss < start.loss).item<bool>()) << result.loss << " vs " << start.loss;
  }
  EXPECT_THROW(inpaint(family, images, torch::ones({1, 1, 28, 28}), options), Error);  // nothing missing
  EXPECT_THROW(inpaint(family, torch::rand({2, 3, 28, 28}), mask, options), Error);     // wrong channels
}

TEST(LatentArithmetic, DecodesMeanAMinusMeanBPlusMeanC) {
  torch::manual_seed(8);
  GanOptions o = tiny("mlp");
  o.ema_decay = 0;
  GanFamily family(o, torch::kCPU);
  const auto codes = torch::randn({10, o.latent_dim});
  const ArithmeticResult result = latent_arithmetic(family, codes, {0, 1, 2}, {3}, {4, 5}, /*variants=*/2);
  const auto expected = codes.narrow(0, 0, 3).mean(0) - codes[3] + codes.narrow(0, 4, 2).mean(0);
  EXPECT_TRUE(torch::allclose(result.code, expected, 1e-5, 1e-6));
  EXPECT_EQ(result.picture.columns, 4);                     // 3 samples of A + their mean
  EXPECT_EQ(result.picture.images.size(0), 4 * 4);          // rows A, B, C, result
  const auto decoded = to_pixels(family.decode(expected.unsqueeze(0)), family.pixel_range());
  EXPECT_TRUE(torch::equal(result.picture.images[12], decoded[0]));  // the result leads the last row
  EXPECT_THROW(latent_arithmetic(family, codes, {0}, {}, {1}), Error);
  EXPECT_THROW(latent_arithmetic(family, codes, {0}, {10}, {1}), Error);
}

// WGAN-GP's penalty: a linear critic w.x has gradient w everywhere, so the penalty is (||w|| - 1)^2 at
// any interpolate, and its gradient with respect to w is 2 (||w|| - 1) w / ||w||; a quadratic critic
// x.x / 2 has gradient x, so the penalty is the mean of (||eps r + (1 - eps) f|| - 1)^2.
TEST(GanLoss, GradientPenaltyAndR1MatchHandComputedValues) {
  auto w = torch::tensor({1.0, 2.0, 2.0}).view({1, 3, 1, 1}).requires_grad_(true);  // ||w|| = 3
  auto linear = [&](const torch::Tensor& x) { return (x * w).flatten(1).sum(1); };
  const auto real = torch::tensor({1.0, 0.0, 0.0, 0.0, 3.0, 4.0}).view({2, 3, 1, 1});
  const auto fake = torch::tensor({0.0, 1.0, 0.0, 2.0, 0.0, 0.0}).view({2, 3, 1, 1});
  const auto penalty = gradient_penalty(linear, real, fake);
  EXPECT_NEAR(penalty.item<double>(), 4.0, 1e-9);
  const auto grad_w = torch::autograd::grad({penalty}, {w})[0];
  EXPECT_TRUE(torch::allclose(grad_w, 2.0 * (3.0 - 1.0) * w.detach() / 3.0, 1e-9, 1e-12));
  EXPECT_NEAR(r1_penalty(linear, real).item<double>(), 9.0, 1e-9);

  auto quadratic = [](const torch::Tensor& x) { return 0.5 * x.pow(2).flatten(1).sum(1); };
  const auto eps = torch::tensor({0.25, 0.5}, torch::kDouble);
  // mixes: 0.25 (1,0,0) + 0.75 (0,1,0) = (0.25, 0.75, 0), norm sqrt(0.625); 0.5 (0,3,4) + 0.5 (2,0,0) = (1, 1.5, 2), norm sqrt(7.25)
  const double expected = (std::pow(std::sqrt(0.625) - 1, 2) + std::pow(std::sqrt(7.25) - 1, 2)) / 2;
  EXPECT_NEAR(gradient_penalty(quadratic, real, fake, eps).item<double>(), expected, 1e-9);
  EXPECT_NEAR(r1_penalty(quadratic, real).item<double>(), (1.0 + 25.0) / 2, 1e-9);
  // The critic's own losses: D minimizes D(G(z)) - D(x), G minimizes -D(G(z)).
  const auto r = torch::tensor({1.0f, 3.0f}), f = torch::tensor({-1.0f, 0.0f});
  EXPECT_NEAR(gan_discriminator_loss("wgan-gp", r, f).item<double>(), -0.5 - 2.0, 1e-6);
  EXPECT_NEAR(gan_generator_loss("wgan-gp", f).item<double>(), 0.5, 1e-6);
}

// Spectral norm: after enough power iterations sigma is the largest singular value (SVD), the
// normalized weight has spectral norm 1, gradients reach the raw weight, eval mode leaves u alone.
TEST(SpectralNorm, PowerIterationFindsTheLargestSingularValue) {
  torch::manual_seed(3);
  SpectralNorm dense(torch::nn::Linear(7, 5));
  SpectralNorm conv(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).padding(1)));
  for (SpectralNorm* layer : {&dense, &conv}) {
    for (int i = 0; i < 100; ++i) (*layer)->normalized_weight();
    const auto raw = ((*layer)->linear ? (*layer)->linear->weight : (*layer)->conv->weight).detach();
    const double largest = torch::linalg_svdvals(raw.flatten(1)).max().item<double>();
    EXPECT_NEAR((*layer)->sigma().item<double>(), largest, 1e-4 * largest);
    const auto normalized = (*layer)->normalized_weight().detach();
    EXPECT_NEAR(torch::linalg_svdvals(normalized.flatten(1)).max().item<double>(), 1.0, 1e-4);
  }
  // The layer computes with the normalized weight, and its gradient reaches the raw one.
  const auto x = torch::randn({2, 7});
  const auto expected = torch::nn::functional::linear(x, dense->normalized_weight(), dense->linear->bias);
  dense->eval();
  const auto u = dense->named_buffers()["u"].clone();
  const auto y = dense->forward(x);
  EXPECT_TRUE(torch::equal(dense->named_buffers()["u"], u));  // eval: no power step
  EXPECT_TRUE(torch::allclose(y, expected, 1e-5, 1e-6));
  y.sum().backward();
  EXPECT_TRUE(dense->linear->weight.grad().defined());
  EXPECT_GT(dense->linear->weight.grad().abs().sum().item<double>(), 0.0);
  // Without power steps sigma is not the top singular value of a fresh random matrix: the test above can fail.
  SpectralNorm fresh(torch::nn::Linear(7, 5));
  fresh->eval();
  const double top = torch::linalg_svdvals(fresh->linear->weight.detach()).max().item<double>();
  EXPECT_GT(std::abs(fresh->sigma().item<double>() - top), 1e-3 * top);
}

// WGAN-GP, spectral norm and R1 on both architectures: the step logs the critic's estimate and the
// penalties, the dcgan critic has no batch norm with wgan-gp or spectral norm, and a checkpoint
// restores every variant exactly (spectral norm's u and v included).
TEST(Gan, CriticVariantsTrainLogAndRestore) {
  TempDir dir("gan-variants");
  for (const std::string arch : {"mlp", "dcgan"}) {
    for (const std::string variant : {"wgan-gp", "spectral_norm", "r1"}) {
      SCOPED_TRACE(arch + " " + variant);
      torch::manual_seed(6);
      GanOptions o = tiny(arch);
      if (variant == "wgan-gp") o.loss = "wgan-gp";
      if (variant == "spectral_norm") o.spectral_norm = true;
      if (variant == "r1") o.r1 = 10;
      GanFamily family(o, torch::kCPU);
      int64_t batch_norms = 0, spectral = 0;
      for (const auto& module : family.discriminator()->modules()) {
        batch_norms += module->as<SyncBatchNorm>() != nullptr;
        spectral += module->as<SpectralNorm>() != nullptr;
      }
      EXPECT_EQ(batch_norms, arch == "dcgan" && variant == "r1" ? 1 : 0);
      EXPECT_EQ(spectral, variant == "spectral_norm" ? (arch == "mlp" ? 4 : 3) : 0);
      const auto before = snapshot(*family.discriminator());
      StepMetrics step;
      for (int i = 0; i < 2; ++i) step = family.train_step(torch::rand({8, 1, 28, 28}) * 2 - 1, torch::zeros({8}, torch::kLong));
      EXPECT_TRUE(changed(*family.discriminator(), before));
      const Metrics read = MetricSums::of(step);
      EXPECT_EQ(read.count("wasserstein") + read.count("gradient_penalty"), variant == "wgan-gp" ? 2u : 0u);
      EXPECT_EQ(read.count("r1"), variant == "r1" ? 1u : 0u);
      if (variant == "wgan-gp") {
        EXPECT_GE(read.at("gradient_penalty"), 0.0);
        EXPECT_NEAR(read.at("wasserstein"), read.at("d_x") - read.at("d_g_z"), 1e-9);
      }
      for (const auto& [name, value] : read) EXPECT_TRUE(std::isfinite(value)) << name;
      auto loaded = saved_and_loaded(family, dir / "checkpoint.pt");
      auto* gan = dynamic_cast<GanFamily*>(loaded.get());
      ASSERT_NE(gan, nullptr);
      family.discriminator()->eval();
      gan->discriminator()->eval();
      const auto images = torch::rand({4, 1, 28, 28}) * 2 - 1;
      EXPECT_TRUE(torch::equal(family.discriminator()->forward(images), gan->discriminator()->forward(images)));
      EXPECT_TRUE(torch::equal(gan->sample(4, 9), family.sample(4, 9)));
    }
  }
}

TEST(Gan, CriticOptionsAreCheckedAndScoped) {
  GanOptions o = tiny("mlp");
  o.gp_weight = -1;
  EXPECT_THROW(GanFamily(o, torch::kCPU), Error);
  const ModelSpec& spec = model_spec("gan");
  const auto error = spec.options->out_of_scope(spec.complete({{"gp_weight", 5.0}}), {{"gp_weight", 5.0}}, "train gan");
  EXPECT_NE(error.find("--loss wgan-gp"), std::string::npos) << error;
  const auto smoothing = spec.options->out_of_scope(spec.complete({{"loss", "wgan-gp"}, {"label_smoothing", 0.1}}),
                                                    {{"loss", "wgan-gp"}, {"label_smoothing", 0.1}}, "train gan");
  EXPECT_NE(smoothing.find("--label-smoothing"), std::string::npos) << smoothing;
}

// StyleGAN2's modulation and demodulation against a per-sample computation: w'_bijk = s_bj w_ijk /
// sqrt(in k k), each output's weights rescaled to unit norm, then an ordinary convolution per sample.
TEST(StyleGan, ModulatedConvolutionMatchesAPerSampleComputation) {
  torch::manual_seed(8);
  ModulatedConv conv(3, 4, 3, /*w_dim=*/5, /*demodulate=*/true);
  const auto x = torch::randn({2, 3, 6, 6}), w = torch::randn({2, 5});
  const auto y = conv->forward(x, w);
  const auto styles = conv->affine->forward(w);  // (2, 3)
  for (int64_t b = 0; b < 2; ++b) {
    auto weight = conv->weight / std::sqrt(3.0 * 9.0) * styles[b].view({1, 3, 1, 1});  // (4, 3, 3, 3)
    weight = weight / (weight.pow(2).sum({1, 2, 3}, true) + 1e-8).sqrt();
    const auto expected = torch::nn::functional::conv2d(x.narrow(0, b, 1), weight,
                                                        torch::nn::functional::Conv2dFuncOptions().padding(1));
    EXPECT_TRUE(torch::allclose(y.narrow(0, b, 1), expected, 1e-5, 1e-5)) << b;
    EXPECT_TRUE(torch::allclose(weight.pow(2).sum({1, 2, 3}), torch::ones({4}), 1e-5, 1e-6));
  }
  // Without demodulation the style scales the output linearly.
  ModulatedConv rgb(3, 1, 1, 5, /*demodulate=*/false);
  const auto styles1 = rgb->affine->forward(w.narrow(0, 0, 1));
  const auto expected = torch::nn::functional::conv2d(x.narrow(0, 0, 1), rgb->weight / std::sqrt(3.0) * styles1.view({1, 3, 1, 1}));
  EXPECT_TRUE(torch::allclose(rgb->forward(x.narrow(0, 0, 1), w.narrow(0, 0, 1)), expected, 1e-5, 1e-5));
}

// The truncation trick: psi 0 maps every code to the average w, so every sample is the average's image;
// psi 1 leaves codes alone. The average w is tracked in training.
TEST(StyleGan, TruncationAtZeroGivesTheAverageCodesImage) {
  torch::manual_seed(9);
  StyleGanOptions o;
  o.image_size = 16;
  o.latent_dim = 8;
  o.features = 4;
  o.mapping_layers = 2;
  StyleGenerator g(o);
  EXPECT_EQ(g->num_ws(), 2 + 3 * 2);  // 4x4: conv, rgb; 8x8 and 16x16: two convs and rgb each
  g->train();
  g->forward(torch::randn({16, 8}));
  EXPECT_GT(g->w_avg().abs().sum().item<double>(), 0.0);  // moved from zero
  g->eval();
  const auto z = torch::randn({3, 8});
  const auto average = g->synthesize(g->w_avg().view({1, 1, 8}).expand({1, g->num_ws(), 8}));
  const auto truncated = g->forward(z, /*truncation=*/0.0);
  for (int64_t i = 0; i < 3; ++i) EXPECT_TRUE(torch::allclose(truncated.narrow(0, i, 1), average, 1e-5, 1e-6)) << i;
  const auto free = g->forward(z, 1.0);
  EXPECT_FALSE(torch::allclose(free.narrow(0, 0, 1), free.narrow(0, 1, 1), 1e-3, 1e-3));
  EXPECT_TRUE(torch::equal(free, g->forward(z, 1.0)));  // eval: fixed noise, the same image for a code
  {
    torch::NoGradGuard no_grad;
    g->named_parameters()["conv0_noise_strength"].fill_(0.5);  // learned from 0; fresh noise then shows
  }
  EXPECT_FALSE(torch::equal(g->synthesize(g->map(z).unsqueeze(1).expand({-1, g->num_ws(), -1}), /*fresh_noise=*/true),
                            g->synthesize(g->map(z).unsqueeze(1).expand({-1, g->num_ws(), -1}), /*fresh_noise=*/true)));
}

// The family: R1 on by default (gamma 10), its pictures, truncation through the capability, and a
// checkpoint that restores everything (mapping, w average, fixed noise, EMA).
TEST(StyleGan, TrainsWithR1AndRestoresExactly) {
  TempDir dir("stylegan");
  torch::manual_seed(10);
  GanOptions o = tiny("stylegan");
  o.image_size = 16;
  o.g_features = 4;
  o.d_features = 4;
  o.mapping_layers = 2;
  EXPECT_EQ(effective_r1(o), 10.0);
  GanFamily family(o, torch::kCPU);
  StepMetrics step;
  for (int i = 0; i < 2; ++i) step = family.train_step(torch::rand({8, 1, 16, 16}) * 2 - 1, torch::zeros({8}, torch::kLong));
  EXPECT_EQ(MetricSums::of(step).count("r1"), 1u);
  const auto pictures = family.pictures(Dataset{});
  for (const char* name : {"samples", "style_mixing", "truncation", "noise"}) EXPECT_TRUE(pictures.count(name)) << name;
  EXPECT_EQ(pictures.at("style_mixing").images.size(0), 36);
  EXPECT_EQ(pictures.at("truncation").images.size(0), 30);
  EXPECT_TRUE(torch::equal(family.sample(4, 9), family.decode(prior_codes(4, o.latent_dim, 9))));
  auto loaded = saved_and_loaded(family, dir / "checkpoint.pt");
  auto* gan = dynamic_cast<GanFamily*>(loaded.get());
  ASSERT_NE(gan, nullptr);
  EXPECT_TRUE(torch::equal(gan->sample(4, 9), family.sample(4, 9)));
  auto* truncated = capability<TruncatedSampler>(*loaded);
  ASSERT_NE(truncated, nullptr);
  truncated->set_truncation(0.0);
  const auto flat = gan->sample(2, 1);
  EXPECT_TRUE(torch::allclose(flat[0], flat[1], 1e-5, 1e-6));
  EXPECT_THROW(truncated->set_truncation(1.5), Error);
  o.conditional = true;
  EXPECT_THROW(GanFamily(o, torch::kCPU), Error);
}
