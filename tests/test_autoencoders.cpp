// The autoencoder family, PCA and the latent-space toolkit: the contractive penalty against finite
// differences, tied weights really shared, every variant learns, PCA equals the SVD closed form,
// k-means finds separable clusters.
#include <gtest/gtest.h>

#include "deepgen/models/registry.h"
#include "deepgen/core/error.h"
#include "deepgen/evaluation/latent.h"
#include "deepgen/models/autoencoder.h"
#include "deepgen/models/pca.h"
#include "deepgen/training/trainer.h"
#include "test_util.h"

using namespace deepgen;
using deepgen::testing::TempDir;

namespace {

AutoencoderOptions small_ae(int64_t code, int64_t hidden = 0, const std::string& activation = "sigmoid") {
  AutoencoderOptions o;
  o.image_size = 6;  // 36 pixels keeps the finite differences cheap
  o.code_size = code;
  o.hidden = hidden;
  o.code_activation = activation;
  return o;
}

// ||dh/dx||_F^2 by central differences, in double precision. images (1, C, H, W).
double finite_difference_jacobian(AutoencoderNet& net, const torch::Tensor& image, double eps = 1e-5) {
  torch::NoGradGuard no_grad;
  const int64_t pixels = image.numel();
  auto basis = torch::eye(pixels, torch::kDouble).view({pixels, image.size(1), image.size(2), image.size(3)});
  auto plus = net->encode(image + eps * basis), minus = net->encode(image - eps * basis);  // (D, code)
  return ((plus - minus) / (2 * eps)).pow(2).sum().item<double>();
}

// A quiet 32-image-batch trainer without pictures, writing into `dir`.
TrainerOptions quiet_trainer(const std::string& dir, int64_t epochs) {
  TrainerOptions trainer;
  trainer.out_dir = dir;
  trainer.epochs = epochs;
  trainer.batch_size = 32;
  trainer.progress = "none";
  trainer.pictures = false;
  return trainer;
}

DataSplits small_fashion_mnist(int64_t train, int64_t test) {
  DataOptions options;
  options.dir = DEEPGEN_FASHION_MNIST;
  options.train_limit = train;
  options.test_limit = test;
  return load_data(options, PixelRange::kUnit, torch::kCPU);
}

}  // namespace

TEST(Contractive, ClosedFormAndAutogradMatchFiniteDifferences) {
  torch::manual_seed(0);
  for (const std::string activation : {"sigmoid", "relu", "linear"}) {
    AutoencoderNet net(small_ae(5, 0, activation));
    net->to(torch::kDouble);
    auto images = torch::rand({3, 1, 6, 6}, torch::kDouble);
    auto closed = net->jacobian_frobenius_squared(images, false);
    auto autograd = net->jacobian_frobenius_squared_autograd(images, false);
    ASSERT_EQ(closed.sizes(), (std::vector<int64_t>{3}));
    for (int64_t b = 0; b < 3; ++b) {
      const double numeric = finite_difference_jacobian(net, images.narrow(0, b, 1));
      EXPECT_NEAR(closed[b].item<double>(), numeric, 1e-6 * std::max(1.0, numeric)) << activation;
      EXPECT_NEAR(autograd[b].item<double>(), numeric, 1e-6 * std::max(1.0, numeric)) << activation;
    }
  }
  // A deeper encoder goes through autograd; it must match the finite differences too.
  AutoencoderNet deep(small_ae(4, 7, "sigmoid"));
  deep->to(torch::kDouble);
  auto image = torch::rand({1, 1, 6, 6}, torch::kDouble);
  const double numeric = finite_difference_jacobian(deep, image);
  EXPECT_NEAR(deep->jacobian_frobenius_squared(image, false).item<double>(), numeric, 1e-6 * std::max(1.0, numeric));
}

TEST(Contractive, PenaltyIsDifferentiableAndShrinksTheJacobian) {
  torch::manual_seed(1);
  AutoencoderOptions options = small_ae(8);
  options.variant = "contractive";
  options.contraction = 10.0;  // penalty dominates: the Jacobian must shrink
  AutoencoderFamily family(options, torch::kCPU);
  auto images = torch::rand({32, 1, 6, 6});
  const double before = family.net()->jacobian_frobenius_squared(images, false).mean().item<double>();
  for (int i = 0; i < 50; ++i) family.train_step(images, torch::zeros({32}, torch::kLong));
  const double after = family.net()->jacobian_frobenius_squared(images, false).mean().item<double>();
  EXPECT_LT(after, 0.5 * before);
}

TEST(TiedWeights, DecoderUsesTheEncoderWeights) {
  torch::manual_seed(2);
  AutoencoderOptions tied = small_ae(5);
  tied.tied = true;
  AutoencoderNet net(tied);
  // Only W, the code bias and the output bias: 5*36 + 5 + 36.
  int64_t count = 0;
  for (const auto& p : net->parameters()) count += p.numel();
  EXPECT_EQ(count, 5 * 36 + 5 + 36);
  AutoencoderNet untied(small_ae(5));
  count = 0;
  for (const auto& p : untied->parameters()) count += p.numel();
  EXPECT_EQ(count, 2 * 5 * 36 + 5 + 36);
  // Gradient from the decoder's use alone (code detached) reaches the encoder's weight...
  auto codes = torch::rand({4, 5});
  net->decode(codes).sum().backward();
  ASSERT_TRUE(net->encoder_code->weight.grad().defined());
  EXPECT_GT(net->encoder_code->weight.grad().abs().sum().item<double>(), 0);
  // ...and equals codes^T summed per pixel: d/dW of sum(codes W + c) is, per (j, i), sum_b codes_bj.
  auto expected = codes.sum(0).unsqueeze(1).expand({5, 36});
  EXPECT_TRUE(torch::allclose(net->encoder_code->weight.grad(), expected, 1e-5, 1e-6));
  // Both uses add up: a full reconstruction loss gives more than the decoder's part alone.
  net->zero_grad();
  auto images = torch::rand({4, 1, 6, 6});
  auto loss = net->decode(net->encode(images)).pow(2).sum();
  loss.backward();
  auto both = net->encoder_code->weight.grad().clone();
  net->zero_grad();
  net->decode(net->encode(images).detach()).pow(2).sum().backward();
  EXPECT_FALSE(torch::allclose(both, net->encoder_code->weight.grad()));
  tied.arch = "conv";
  tied.image_size = 8;
  EXPECT_THROW(AutoencoderNet{tied}, Error);
}

TEST(Autoencoder, EveryVariantLearnsOnASmallSubset) {
  DEEPGEN_NEEDS_FASHION_MNIST();
  const DataSplits data = small_fashion_mnist(512, 64);
  struct Case {
    std::string name;
    nlohmann::json options;
  };
  const std::vector<Case> cases = {
      {"plain under-complete", {{"code_size", 32}}},
      {"plain over-complete", {{"code_size", 1000}}},
      {"tied", {{"code_size", 32}, {"tied", true}}},
      {"mse", {{"code_size", 32}, {"recon", "mse"}, {"code_activation", "relu"}}},
      {"sparse", {{"variant", "sparse"}, {"code_size", 64}, {"sparsity", 0.1}}},
      {"contractive", {{"variant", "contractive"}, {"code_size", 32}, {"contraction", 0.1}}},
      {"contractive deep", {{"variant", "contractive"}, {"code_size", 8}, {"hidden", 32}}},
      {"denoising gaussian", {{"variant", "denoising"}, {"code_size", 32}}},
      {"denoising masking", {{"variant", "denoising"}, {"noise", "masking"}, {"code_size", 32}}},
      {"denoising salt-pepper", {{"variant", "denoising"}, {"noise", "salt-pepper"}, {"noise_level", 0.1}}},
      {"conv", {{"arch", "conv"}, {"code_size", 16}}},
  };
  for (const auto& c : cases) {
    TempDir dir("ae-variant");
    torch::manual_seed(3);
    auto family = make_family("ae", c.options, torch::kCPU);
    const TrainerOptions trainer = quiet_trainer(dir.str(), 3);
    const Metrics first = family->evaluate(data.test, 64);
    const TrainResult result = fit(*family, data, trainer, {"ae", family->options(), {}, 0, {}});
    EXPECT_LT(result.test.at("mse"), 0.8 * first.at("mse")) << c.name;
    EXPECT_LT(result.test.at("reconstruction"), first.at("reconstruction")) << c.name;
    if (c.options.value("variant", "") == "denoising") {
      EXPECT_TRUE(result.test.count("psnr_denoised") && result.test.count("psnr_noisy")) << c.name;
    }
  }
}

TEST(Autoencoder, SparsityDrivesCodesToZero) {
  DEEPGEN_NEEDS_FASHION_MNIST();
  const DataSplits data = small_fashion_mnist(512, 128);
  auto near_zero = [&](double sparsity) {
    TempDir dir("sparse");
    torch::manual_seed(4);
    auto family = make_family("ae", {{"variant", "sparse"}, {"code_size", 64}, {"sparsity", sparsity}}, torch::kCPU);
    const TrainerOptions trainer = quiet_trainer(dir.str(), 5);
    return fit(*family, data, trainer, {"ae", family->options(), {}, 0, {}}).test.at("near_zero");
  };
  // Seen here: 0.05 without the penalty, 0.31 at lambda 3, 0.83 at lambda 10.
  const double none = near_zero(0.0), strong = near_zero(3.0);
  EXPECT_GT(strong, none + 0.15);
  EXPECT_GT(near_zero(10.0), strong);
}

TEST(Corruption, NoiseModelsAndPsnr) {
  torch::manual_seed(5);
  auto images = torch::full({4, 1, 50, 50}, 0.5);
  auto masked = corrupt(images, "masking", 0.3);
  EXPECT_NEAR((masked == 0).to(torch::kFloat).mean().item<double>(), 0.3, 0.03);
  auto salted = corrupt(images, "salt-pepper", 0.2);
  auto hit = salted != 0.5;
  EXPECT_NEAR(hit.to(torch::kFloat).mean().item<double>(), 0.2, 0.03);
  EXPECT_TRUE(((salted == 0) | (salted == 1) | (salted == 0.5)).all().item<bool>());
  auto noisy = corrupt(images, "gaussian", 0.1);
  EXPECT_GE(noisy.min().item<double>(), 0.0);
  EXPECT_LE(noisy.max().item<double>(), 1.0);
  EXPECT_NEAR((noisy - images).std().item<double>(), 0.1, 0.01);
  // MSE 0.01 -> 20 dB; MSE 0.0001 -> 40 dB.
  auto target = torch::zeros({2, 1, 2, 2});
  auto estimate = torch::stack({torch::full({1, 2, 2}, 0.1), torch::full({1, 2, 2}, 0.01)});
  auto values = psnr(estimate, target);
  EXPECT_NEAR(values[0].item<double>(), 20.0, 1e-4);
  EXPECT_NEAR(values[1].item<double>(), 40.0, 1e-3);
  EXPECT_THROW(corrupt(images, "blur", 0.1), Error);
}

TEST(Pca, ReconstructionEqualsTheSvdClosedForm) {
  torch::manual_seed(6);
  // 300 correlated "images" of 1x4x4 pixels.
  auto mixing = torch::randn({5, 16});
  auto data = (torch::randn({300, 5}).matmul(mixing) * 0.1 + 0.5).view({300, 1, 4, 4});
  PcaOptions options;
  options.image_size = 4;
  options.code_size = 3;
  PcaFamily pca(options, torch::kCPU);
  for (int64_t start = 0; start < 300; start += 64) pca.train_step(data.narrow(0, start, std::min<int64_t>(64, 300 - start)), {});
  Dataset test{data, torch::zeros({300}, torch::kLong)};
  const Metrics metrics = pca.evaluate(test, 100);
  // Closed form: project the centred data on the top-3 right singular vectors.
  auto flat = data.view({300, 16}).to(torch::kDouble);
  auto mean = flat.mean(0);
  auto svd = torch::linalg_svd(flat - mean, false);
  auto v = std::get<2>(svd).narrow(0, 0, 3);  // (3, 16)
  auto expected = ((flat - mean).matmul(v.t()).matmul(v) + mean).to(torch::kFloat).view({300, 1, 4, 4});
  EXPECT_TRUE(torch::allclose(reconstruct(pca, data), expected, 1e-4, 1e-5));
  const double squared = (expected - data).pow(2).sum().item<double>() / 300;
  EXPECT_NEAR(metrics.at("loss"), squared, 1e-4 * squared + 1e-7);
  auto singular = std::get<1>(svd).pow(2);
  EXPECT_NEAR(metrics.at("explained_variance"), (singular.narrow(0, 0, 3).sum() / singular.sum()).item<double>(), 1e-4);
  // Components are orthonormal.
  EXPECT_TRUE(torch::allclose(pca.components().matmul(pca.components().t()), torch::eye(3), 1e-4, 1e-5));
  // Save/load keeps them.
  TempDir dir("pca");
  torch::serialize::OutputArchive out;
  pca.save(out);
  out.save_to(dir / "pca.pt");
  torch::serialize::InputArchive in;
  in.load_from(dir / "pca.pt");
  PcaFamily loaded(options, torch::kCPU);
  loaded.load(in);
  EXPECT_TRUE(torch::equal(reconstruct(loaded, data), reconstruct(pca, data)));
}

TEST(Latent, KMeansPurityOnSeparableClusters) {
  torch::manual_seed(7);
  auto centres = torch::tensor({{0.0f, 0.0f, 0.0f}, {10.0f, 0.0f, 0.0f}, {0.0f, 10.0f, 0.0f}, {0.0f, 0.0f, 10.0f}});
  auto labels = torch::arange(4).repeat_interleave(50);
  auto points = centres.index_select(0, labels) + 0.5 * torch::randn({200, 3});
  const KMeansResult result = kmeans(points, 4, /*seed=*/1);
  EXPECT_DOUBLE_EQ(cluster_purity(result.assignments, labels), 1.0);
  EXPECT_LT(result.inertia, 200 * 3 * 0.25 * 1.5);
  // Labels unrelated to the clusters give a purity near chance.
  auto shuffled = labels.index_select(0, torch::randperm(200));
  EXPECT_LT(cluster_purity(result.assignments, shuffled), 0.5);
  // Hand-computed: clusters {0,0,1} and {1,1}; labels {a,b,a} and {b,b} -> (2 + 2) / 5.
  EXPECT_DOUBLE_EQ(cluster_purity(torch::tensor({0, 0, 0, 1, 1}), torch::tensor({0, 1, 0, 1, 1})), 0.8);
}

TEST(Latent, ProjectionKeepsTheWidestAxes) {
  torch::manual_seed(8);
  auto codes = torch::randn({500, 4}) * torch::tensor({5.0f, 0.1f, 3.0f, 0.1f});
  const Projection view = project_2d(codes);
  EXPECT_EQ(view.points.sizes(), (std::vector<int64_t>{500, 2}));
  EXPECT_GT(view.explained, 0.98);
  auto two = torch::randn({10, 2});
  EXPECT_TRUE(torch::equal(project_2d(two).points, two));
}
