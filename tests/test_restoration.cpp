// Restoration: DnCNN's residual formulation and blind sigmas, 'same' padding on odd sizes, tiled
// inference, PSNR/SSIM against hand-computed values, the classical baselines, patches, the
// super-resolution and inpainting models, and checkpoints.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <string>

#include "deepgen/models/registry.h"
#include "deepgen/apps/inpainting.h"
#include "deepgen/apps/restoration.h"
#include "deepgen/core/error.h"
#include "deepgen/core/runtime.h"
#include "deepgen/core/torch_compat.h"
#include "deepgen/data/image_folder.h"
#include "deepgen/data/natural_images.h"
#include "deepgen/data/paired_images.h"
#include "deepgen/nn/batch_norm.h"
#include "deepgen/nn/image_quality.h"
#include "deepgen/models/dncnn.h"
#include "deepgen/models/inpaint_ae.h"
#include "deepgen/models/super_resolution.h"
#include "deepgen/training/checkpoint.h"
#include "test_util.h"

using namespace deepgen;

namespace {
DnCnnOptions tiny_dncnn(int64_t depth = 5) {
  DnCnnOptions o;
  o.depth = depth;
  o.width = 8;
  o.sigma = 25;
  return o;
}

SrOptions tiny_sr(int64_t scale, int64_t depth) {
  SrOptions o;
  o.scale = scale;
  o.depth = depth;
  o.width = 8;
  return o;
}

// A smooth test image with some edges: (1, H, W) in [0, 1].
torch::Tensor smooth_image(int64_t h, int64_t w) {
  auto y = torch::linspace(0, 1, h).view({h, 1}), x = torch::linspace(0, 1, w).view({1, w});
  auto image = 0.5 + 0.3 * torch::sin(6 * x) * torch::cos(4 * y) + 0.2 * (x > 0.5).to(torch::kFloat);
  return image.clamp(0, 1).unsqueeze(0);
}

// Puts BN running statistics somewhere other than (0, 1) so eval mode is not the identity.
void randomize_batch_norm(torch::nn::Module& net) {
  torch::NoGradGuard no_grad;
  for (auto& m : net.modules(false)) {
    if (auto* bn = m->as<SyncBatchNorm>()) {
      bn->running_mean.uniform_(-0.1, 0.1);
      bn->running_var.uniform_(0.5, 1.5);
    }
  }
}
}  // namespace

TEST(Quality, PsnrAgainstHandValues) {
  // MSE 0.01 -> 20 dB; MSE 0.0001 -> 40 dB.
  EXPECT_NEAR(image_psnr(torch::zeros({1, 8, 8}), torch::full({1, 8, 8}, 0.1)), 20.0, 1e-6);
  auto a = torch::zeros({2, 1, 4, 4});
  auto b = a.clone();
  b[0].fill_(0.1);
  b[1].fill_(0.01);
  auto per_image = psnr(a, b);
  EXPECT_NEAR(per_image[0].item<double>(), 20.0, 1e-4);
  EXPECT_NEAR(per_image[1].item<double>(), 40.0, 1e-4);
  EXPECT_TRUE(std::isinf(image_psnr(b, b)));
}

TEST(Quality, SsimAgainstHandValues) {
  // Constant images a and b: no contrast, so SSIM = (2ab + C1) / (a^2 + b^2 + C1) with C1 = 0.01^2.
  const double a = 0.2, b = 0.4, c1 = 1e-4;
  EXPECT_NEAR(ssim(torch::full({1, 16, 16}, a), torch::full({1, 16, 16}, b)), (2 * a * b + c1) / (a * a + b * b + c1), 1e-9);
  auto x = torch::rand({3, 24, 20});
  EXPECT_NEAR(ssim(x, x), 1.0, 1e-9);
  // Noise lowers it; the images must be the same size and at least 11x11.
  EXPECT_LT(ssim(x + 0.2 * torch::randn_like(x), x), 0.9);
  EXPECT_THROW(ssim(torch::rand({1, 10, 10}), torch::rand({1, 10, 10})), Error);
  EXPECT_THROW(ssim(torch::rand({1, 12, 12}), torch::rand({1, 12, 13})), Error);
  // Shaving crops the border before measuring: a border-only error disappears.
  auto y = x.clone();
  y.narrow(1, 0, 2).fill_(0);
  EXPECT_TRUE(std::isinf(image_quality(y, x, 2).psnr));
}

TEST(Baselines, GaussianAndNonLocalMeansRemoveNoise) {
  auto constant = torch::full({1, 20, 30}, 0.4);
  EXPECT_TRUE(torch::allclose(gaussian_filter(constant, 1.5), constant, 1e-5, 1e-6));
  auto clean = smooth_image(48, 64);
  auto noisy = add_gaussian_noise(clean, 25, /*seed=*/3);
  const double before = image_psnr(noisy, clean);
  EXPECT_NEAR(before, 20 * std::log10(255.0 / 25), 0.5);  // noise of sigma 25/255
  EXPECT_GT(image_psnr(gaussian_filter(noisy, 1.0), clean), before + 3);
  EXPECT_GT(image_psnr(non_local_means(noisy, 25, nlm_parameters(25)), clean), before + 5);
  // The same seed gives the same noise.
  EXPECT_TRUE(torch::equal(add_gaussian_noise(clean, 25, 3), noisy));
}

TEST(DnCnn, OutputIsInputMinusPredictedNoise) {
  torch::manual_seed(0);
  DnCnnFamily model(tiny_dncnn(), torch::kCPU);
  randomize_batch_norm(*model.net());
  auto y = torch::rand({2, 1, 12, 12});
  model.net()->eval();
  auto residual = model.net()->forward(y);
  EXPECT_GT(residual.abs().max().item<double>(), 0);
  EXPECT_TRUE(torch::allclose(model.denoise(y), y - residual, 1e-5, 1e-6));
  // The loss: 1/(2N) sum ||R(y) - v||^2. N = 2 images of 4 pixels, difference 1 everywhere: 8 / 4 = 2.
  EXPECT_NEAR(dncnn_loss(torch::zeros({2, 1, 2, 2}), torch::ones({2, 1, 2, 2})).item<double>(), 2.0, 1e-9);
  // Depth defaults: 17 for a fixed sigma, 20 blind.
  DnCnnOptions fixed, blind;
  blind.sigma_max = 50;
  EXPECT_EQ(DnCnnFamily(fixed, torch::kCPU).net()->depth, 17);
  EXPECT_EQ(DnCnnFamily(blind, torch::kCPU).net()->depth, 20);
}

// infer() folds each batch norm into its convolution and runs channels-last: the same function as the
// eval-mode forward, with or without batch norm, with BN's affine parameters and conv biases set, and
// whatever mode the module is in (its running statistics, never the batch's).
TEST(DnCnn, InferenceFoldsBatchNormIntoTheConvolutions) {
  torch::manual_seed(3);
  for (bool batch_norm : {true, false}) {
    for (int64_t channels : {1, 3}) {
      ResidualCnn net(channels, 6, 8, batch_norm);
      randomize_batch_norm(*net);
      {
        torch::NoGradGuard no_grad;
        for (auto& p : net->parameters()) p.add_(0.05 * torch::randn_like(p));  // BN gamma/beta and biases off 1/0
      }
      auto x = torch::rand({2, channels, 13, 10});
      net->eval();
      auto expected = net->forward(x);
      net->train();
      auto folded = net->infer(x);
      EXPECT_TRUE(net->is_training());
      EXPECT_FALSE(folded.requires_grad());
      EXPECT_TRUE(folded.is_contiguous());
      EXPECT_EQ(folded.sizes(), expected.sizes());
      EXPECT_LT((folded - expected).abs().max().item<double>(), 1e-5 * expected.abs().max().item<double>())
          << "batch_norm " << batch_norm << ", channels " << channels;
      // A batch norm that would use the batch's statistics (train mode) gives another function: the
      // comparison above can fail.
      if (batch_norm) {
        torch::NoGradGuard no_grad;
        EXPECT_GT((net->forward(x) - expected).abs().max().item<double>(), 1e-3);
      }
    }
  }
}

// --init dirac: the middle convolutions start as the identity plus N(0, 0.01), so what the first layer
// computes (the noise with it) reaches the last layer; after 18 He-initialized layers it is scrambled.
TEST(DnCnn, DiracInitCarriesTheFirstLayersFeaturesToTheLast) {
  torch::NoGradGuard no_grad;
  auto x = torch::rand({2, 3, 16, 16});
  std::map<std::string, double> similarity;
  for (const std::string init : {"dirac", "kaiming"}) {
    torch::manual_seed(5);
    ResidualCnn net(3, 20, 8, /*batch_norm=*/true, init);
    net->eval();  // batch norm as it starts (mean 0, variance 1): the identity
    auto h = x;
    torch::Tensor first;  // conv + ReLU of the first layer
    int64_t k = 0;
    for (auto it = net->layers->begin(); it + 1 != net->layers->end(); ++it, ++k) {
      h = it->forward(h);
      if (k == 1) first = h.clone();
    }
    similarity[init] = ((first * h).sum() / (first.norm() * h.norm())).item<double>();
    if (init == "dirac") {
      auto middle = net->layers[2]->as<torch::nn::Conv2d>()->weight;  // (8, 8, 3, 3)
      EXPECT_NEAR(middle.select(2, 1).select(2, 1).diagonal().mean().item<double>(), 1.0, 0.02);
      EXPECT_LT(middle.select(2, 0).abs().max().item<double>(), 0.06);  // off-centre taps: the noise only
    }
  }
  EXPECT_GT(similarity["dirac"], 0.9);
  EXPECT_LT(similarity["kaiming"], 0.7);
  EXPECT_THROW(ResidualCnn(1, 5, 8, true, "orthogonal"), std::exception);
}

// The fused convolution + ReLU of core/torch_compat.h: oneDNN's kernel on LibTorch 2.x (found in the
// dispatcher), conv2d then relu_ on 1.x; the same numbers either way, and autograd falls back to conv2d.
TEST(Compat, FusedConvReluIsConvolutionThenRelu) {
  EXPECT_EQ(torch_compat::fused_conv_relu_available(), TORCH_VERSION_MAJOR >= 2 && at::hasMKLDNN());
  torch::manual_seed(5);
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 5, 9, 11}).contiguous(torch::MemoryFormat::ChannelsLast);
  auto weight = torch::randn({7, 5, 3, 3}).contiguous(torch::MemoryFormat::ChannelsLast), bias = torch::randn({7});
  for (bool relu : {true, false}) {
    for (const auto& b : {bias, torch::Tensor()}) {
      auto expected = torch::conv2d(x, weight, b, {1, 1}, {1, 1});
      if (relu) expected = expected.relu();
      auto found = torch_compat::conv2d_relu(x, weight, b, 1, relu);
      ASSERT_EQ(found.sizes(), expected.sizes());
      EXPECT_LT((found - expected).abs().max().item<double>(), 1e-4) << "relu " << relu << ", bias " << b.defined();
      if (relu) EXPECT_EQ(found.min().item<double>(), 0.0);
    }
  }
  torch::AutoGradMode grad(true);
  auto w = weight.clone().requires_grad_(true);
  auto y = torch_compat::conv2d_relu(x, w, bias, 1, true);
  y.sum().backward();
  EXPECT_TRUE(w.grad().defined());
}

TEST(DnCnn, FixedModelRescalesToTheGivenSigma) {
  torch::manual_seed(9);
  DnCnnFamily model(tiny_dncnn(), torch::kCPU);  // trained at 25
  randomize_batch_norm(*model.net());
  auto noisy = torch::rand({1, 16, 16});
  // At its own sigma (or none given) the image goes in as it is.
  auto plain = model.denoise(noisy.unsqueeze(0)).clamp(0, 1)[0];
  EXPECT_TRUE(torch::allclose(denoise_image(model, noisy, 25, {}), plain));
  EXPECT_TRUE(torch::allclose(denoise_image(model, noisy, 0, {}), plain));
  // At sigma 50 it sees the image halved (noise 50 becomes 25) and the result is doubled back.
  auto scaled = (model.denoise(noisy.unsqueeze(0) * 0.5) / 0.5).clamp(0, 1)[0];
  EXPECT_TRUE(torch::allclose(denoise_image(model, noisy, 50, {}), scaled));
}

TEST(DnCnn, GrayModelDenoisesAColourImageChannelByChannel) {
  torch::manual_seed(10);
  DnCnnFamily model(tiny_dncnn(), torch::kCPU);
  randomize_batch_norm(*model.net());
  auto noisy = torch::rand({3, 13, 18});
  auto out = denoise_image(model, noisy, 50, {});
  ASSERT_EQ(out.sizes(), noisy.sizes());
  for (int64_t c = 0; c < 3; ++c) {
    EXPECT_TRUE(torch::allclose(out[c], denoise_image(model, noisy.narrow(0, c, 1), 50, {})[0])) << "channel " << c;
  }
  // An RGB model takes the image whole; a 2-channel image fits neither.
  EXPECT_THROW(denoise_image(model, torch::rand({2, 8, 8}), 25, {}), Error);
}

TEST(DnCnn, SamePaddingKeepsOddSizes) {
  DnCnnFamily model(tiny_dncnn(), torch::kCPU);
  EXPECT_EQ(model.denoise(torch::rand({1, 1, 37, 53})).sizes(), (std::vector<int64_t>{1, 1, 37, 53}));
  DnCnnOptions rgb = tiny_dncnn();
  rgb.channels = 3;
  EXPECT_EQ(DnCnnFamily(rgb, torch::kCPU).denoise(torch::rand({1, 3, 11, 7})).sizes(), (std::vector<int64_t>{1, 3, 11, 7}));
}

TEST(DnCnn, BlindSigmasStayInRange) {
  DnCnnOptions blind = tiny_dncnn();
  blind.sigma_min = 5;
  blind.sigma_max = 50;
  torch::manual_seed(1);
  auto sigmas = draw_sigmas(blind, 20000, torch::kFloat);
  EXPECT_GE(sigmas.min().item<double>(), 5.0);
  EXPECT_LE(sigmas.max().item<double>(), 50.0);
  EXPECT_LT(sigmas.min().item<double>(), 5.1);  // the whole range is used
  EXPECT_GT(sigmas.max().item<double>(), 49.9);
  EXPECT_NEAR(sigmas.mean().item<double>(), 27.5, 0.5);
  EXPECT_TRUE(torch::all(draw_sigmas(tiny_dncnn(), 10, torch::kFloat) == 25).item<bool>());
  DnCnnOptions reversed = blind;
  reversed.sigma_min = 60;
  EXPECT_THROW(DnCnnFamily(reversed, torch::kCPU), Error);
}

TEST(DnCnn, LogUniformSigmasStayInRangeAndFavourLowNoise) {
  DnCnnOptions blind = tiny_dncnn();
  blind.sigma_min = 5;
  blind.sigma_max = 50;
  blind.sigma_sampling = "log-uniform";
  torch::manual_seed(1);
  auto sigmas = draw_sigmas(blind, 20000, torch::kFloat);
  EXPECT_GE(sigmas.min().item<double>(), 5.0);
  EXPECT_LE(sigmas.max().item<double>(), 50.0);
  EXPECT_LT(sigmas.min().item<double>(), 5.1);
  EXPECT_GT(sigmas.max().item<double>(), 49.5);
  // Uniform in log sigma: the median is the geometric mean sqrt(5 * 50) = 15.8, and 5..15 holds
  // log(3) / log(10) = 47.7% of the patches (uniform sampling: 22.2%).
  EXPECT_NEAR(sigmas.median().item<double>(), std::sqrt(250.0), 0.4);
  EXPECT_NEAR((sigmas < 15).to(torch::kDouble).mean().item<double>(), std::log(3.0) / std::log(10.0), 0.015);
  // It survives the run's config, and old configs without the field read as uniform.
  nlohmann::json j = blind;
  EXPECT_EQ(j.get<DnCnnOptions>().sigma_sampling, "log-uniform");
  j.erase("sigma_sampling");
  EXPECT_EQ(j.get<DnCnnOptions>().sigma_sampling, "uniform");
  DnCnnOptions from_zero = blind;  // log 0: rejected with a message, not a NaN sigma
  from_zero.sigma_min = 0;
  EXPECT_THROW(DnCnnFamily(from_zero, torch::kCPU), Error);
  DnCnnOptions unknown = blind;
  unknown.sigma_sampling = "gaussian";
  EXPECT_THROW(DnCnnFamily(unknown, torch::kCPU), Error);
}

TEST(DnCnn, TrainingLearnsToDenoise) {
  torch::manual_seed(2);
  DnCnnOptions o = tiny_dncnn(4);
  o.width = 16;
  o.sigma = 30;
  DnCnnFamily model(o, torch::kCPU);
  // Patches of a smooth image: easy to denoise.
  ImageList list;
  list.images.push_back(to_pixels(smooth_image(64, 64), PixelRange::kUnit));
  list.names.push_back("smooth");
  auto patches = normalize_pixels(random_patches(list, 16, 64, /*seed=*/1), PixelRange::kUnit);
  Dataset test{patches.narrow(0, 0, 16), torch::zeros({16}, torch::kInt64)};
  const Metrics before = model.evaluate(test, 16);
  for (int step = 0; step < 60; ++step) model.train_step(patches, torch::Tensor());
  const Metrics after = model.evaluate(test, 16);
  EXPECT_LT(after.at("loss"), 0.5 * before.at("loss"));
  EXPECT_GT(after.at("psnr"), after.at("psnr_noisy") + 3);
}

// On the CPU and, where there is one, on a CUDA device (LibTorch >= 2.4 reaches both through the same
// device-type calls, core/torch_compat.h); the CUDA case skips without a GPU.
class AutocastOnDevice : public ::testing::TestWithParam<torch::DeviceType> {};

TEST_P(AutocastOnDevice, RunsConvolutionsInBf16AndSeesEveryWeightUpdate) {
  const torch::Device device(GetParam());
  if (device.is_cuda() && !torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(3);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(1, 2, 3).padding(1).bias(false));
  conv->to(device);
  auto x = torch::rand({1, 1, 6, 6}).to(device);
  { AutocastScope off(device, false); EXPECT_EQ(conv->forward(x).scalar_type(), torch::kFloat); }
  torch::Tensor first, second;
  {
    AutocastScope scope(device, true);
    first = conv->forward(x);
    {
      AutocastScope inner(device, true);  // nested: the outer scope stays on
      EXPECT_EQ(conv->forward(x).scalar_type(), torch::kBFloat16);
    }
    EXPECT_EQ(conv->forward(x).scalar_type(), torch::kBFloat16);
  }
  EXPECT_EQ(first.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(conv->forward(x).scalar_type(), torch::kFloat);  // the state before the scope is back
  EXPECT_TRUE(torch::allclose(first.to(torch::kFloat), conv->forward(x), 2e-2, 2e-2));
  {
    torch::NoGradGuard no_grad;
    conv->weight.mul_(-2);  // what an optimizer step does: update in place
  }
  {
    AutocastScope scope(device, true);
    second = conv->forward(x);
  }
  // A stale bf16 copy of the weight (the cache not cleared) would give `first` again.
  EXPECT_TRUE(torch::allclose(second.to(torch::kFloat), -2 * first.to(torch::kFloat), 2e-2, 2e-2));
}

INSTANTIATE_TEST_SUITE_P(Precision, AutocastOnDevice, ::testing::Values(torch::kCPU, torch::kCUDA),
                         [](const ::testing::TestParamInfo<torch::DeviceType>& info) {
                           return info.param == torch::kCPU ? std::string("cpu") : std::string("cuda");
                         });

TEST(Precision, ParsePrecisionAcceptsFp32AndBf16Only) {
  EXPECT_FALSE(parse_precision("fp32"));
  EXPECT_TRUE(parse_precision("bf16"));
  try {
    parse_precision("fp16");
    ADD_FAILURE() << "fp16 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--precision: expected fp32 or bf16, found 'fp16'"), std::string::npos) << e.what();
  }
}

TEST(Precision, Bf16TrainingLearnsLikeFp32AndKeepsFp32Weights) {
  // The same tiny denoiser trained the same way in both precisions: the bf16 run must learn about as
  // much (a frozen-weight or broken-gradient bug leaves its loss near the start).
  ImageList list;
  list.images.push_back(to_pixels(smooth_image(64, 64), PixelRange::kUnit));
  list.names.push_back("smooth");
  auto patches = normalize_pixels(random_patches(list, 16, 64, /*seed=*/1), PixelRange::kUnit);
  Dataset test{patches.narrow(0, 0, 16), torch::zeros({16}, torch::kInt64)};
  std::map<std::string, Metrics> result;
  double start = 0;
  for (const std::string precision : {"fp32", "bf16"}) {
    torch::manual_seed(2);
    DnCnnOptions o = tiny_dncnn(4);
    o.width = 16;
    o.sigma = 30;
    o.precision = precision;
    DnCnnFamily model(o, torch::kCPU);
    start = model.evaluate(test, 16).at("loss");
    for (int step = 0; step < 60; ++step) model.train_step(patches, torch::Tensor());
    result[precision] = model.evaluate(test, 16);
    for (const auto& p : model.net()->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat);
    EXPECT_EQ(nlohmann::json(model.options()).at("precision"), precision);
  }
  EXPECT_LT(result["bf16"].at("loss"), 0.5 * start);
  EXPECT_NEAR(result["bf16"].at("psnr"), result["fp32"].at("psnr"), 1.0);
}

TEST(Tiling, EqualsWholeImageAndIsSeamless) {
  torch::manual_seed(3);
  DnCnnFamily model(tiny_dncnn(5), torch::kCPU);
  randomize_batch_norm(*model.net());
  auto image = torch::rand({1, 1, 70, 90});
  auto net = [&](const torch::Tensor& x) { return model.denoise(x); };
  auto whole = net(image);
  // With the receptive radius as margin, every pixel sees what it sees in one piece: no seam anywhere.
  auto tiled = tiled_apply(net, image, 32, model.net()->receptive_radius());
  EXPECT_LT((tiled - whole).abs().max().item<double>(), 1e-5);
  // Without a margin the tiles differ near their borders (the seams) but agree away from them.
  auto naive = tiled_apply(net, image, 32, 0);
  EXPECT_GT((naive - whole).abs().max().item<double>(), 1e-3);
  auto far = torch::ones({70, 90}, torch::kBool);
  const int64_t r = model.net()->receptive_radius();
  for (int64_t seam : {32, 64}) {
    far.narrow(0, std::max<int64_t>(0, seam - r), std::min<int64_t>(2 * r, 70 - std::max<int64_t>(0, seam - r))).fill_(false);
    far.narrow(1, seam - r, 2 * r).fill_(false);
  }
  auto diff = (naive - whole).abs()[0][0];
  EXPECT_LT(diff.masked_select(far).max().item<double>(), 1e-5);
  // The whole-image entry point tiles when asked and gives the same picture.
  TileOptions tiles;
  tiles.tile = 24;
  auto noisy = image[0];
  EXPECT_LT((denoise_image(model, noisy, 25, tiles) - denoise_image(model, noisy, 25, TileOptions{})).abs().max().item<double>(), 1e-5);
  EXPECT_EQ(automatic_tile(100, 100, TileOptions{}), 0);
  EXPECT_EQ(automatic_tile(2000, 2000, TileOptions{}), 256);
}

TEST(Patches, CropsComeFromTheImagesAndSymmetriesAreExact) {
  ImageList list;
  list.images.push_back(torch::arange(0, 30 * 40, torch::kInt64).remainder(251).to(torch::kUInt8).view({1, 30, 40}));
  list.names.push_back("ramp");
  auto patches = random_patches(list, 8, 50, /*seed=*/4);
  ASSERT_EQ(patches.sizes(), (std::vector<int64_t>{50, 1, 8, 8}));
  for (int64_t n = 0; n < 50; ++n) {  // each patch is the crop at some position of the image
    bool found = false;
    for (int64_t top = 0; top <= 22 && !found; ++top) {
      for (int64_t left = 0; left <= 32 && !found; ++left) {
        found = torch::equal(patches[n], list.images[0].narrow(1, top, 8).narrow(2, left, 8));
      }
    }
    EXPECT_TRUE(found) << "patch " << n;
  }
  EXPECT_TRUE(torch::equal(random_patches(list, 8, 50, 4), patches));  // seeded
  EXPECT_THROW(random_patches(list, 31, 1, 0), Error);                 // larger than the image
  // Each augmented patch is one of the 8 symmetries of its original.
  auto x = torch::rand({64, 1, 5, 5});
  auto y = random_dihedral(x);
  for (int64_t n = 0; n < 64; ++n) {
    bool match = false;
    for (auto candidate : {x[n], x[n].transpose(1, 2)}) {
      for (auto flipped : {candidate, candidate.flip({1}), candidate.flip({2}), candidate.flip({1, 2})}) {
        match = match || torch::equal(flipped, y[n]);
      }
    }
    EXPECT_TRUE(match) << "patch " << n;
  }
}

TEST(Patches, NaturalImageFolderSplitAndErrors) {
  deepgen::testing::TempDir dir("natural");
  for (int i = 0; i < 12; ++i) write_png(dir / ("img" + std::to_string(10 + i) + ".png"), torch::randint(0, 255, {3, 20 + i, 30}, torch::kUInt8));
  const NaturalImages images = load_natural_images(dir.str(), 1);
  EXPECT_EQ(images.train.images.size(), 11u);
  ASSERT_EQ(images.test.images.size(), 1u);  // every 10th image
  EXPECT_EQ(images.test.names[0], "img19.png");
  EXPECT_EQ(images.test.images[0].sizes(), (std::vector<int64_t>{1, 29, 30}));  // gray, native size
  PatchOptions options;
  options.patch_size = 16;
  options.patches = 10;
  options.test_patches = 4;
  const DataSplits splits = natural_patch_splits(images, options, torch::kCPU, 1);
  EXPECT_EQ(splits.train.images.sizes(), (std::vector<int64_t>{10, 1, 16, 16}));
  EXPECT_EQ(splits.test.size(), 4);
  EXPECT_LE(splits.train.images.max().item<double>(), 1.0);
  try {
    load_natural_images(dir / "missing", 1);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos);
  }
  try {
    load_natural_images("", 1);  // the default folder, absent in the test's working directory
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("make images"), std::string::npos);
  }
}

TEST(SuperResolution, ResidualOnBicubicAndOddSizes) {
  torch::manual_seed(5);
  SrFamily model(tiny_sr(3, 4), torch::kCPU);
  auto high = torch::rand({2, 1, 24, 24});
  auto [up, low] = degrade(high, 3);
  EXPECT_EQ(low.sizes(), (std::vector<int64_t>{2, 1, 8, 8}));
  EXPECT_EQ(up.sizes(), high.sizes());
  EXPECT_TRUE(torch::equal(low, quantize(low)));  // 8-bit levels, like a saved file
  model.net()->eval();
  EXPECT_TRUE(torch::allclose(model.refine(up), up + model.net()->forward(up), 1e-5, 1e-6));
  EXPECT_THROW(degrade(torch::rand({1, 1, 25, 24}), 3), Error);
  // Any size: 13x17 -> 39x51.
  EXPECT_EQ(upscale_image(model, torch::rand({1, 13, 17}), TileOptions{}).sizes(), (std::vector<int64_t>{1, 39, 51}));
  // Training improves on its starting point (bicubic plus a near-zero residual).
  auto patches = normalize_pixels(random_patches({{to_pixels(smooth_image(96, 96), PixelRange::kUnit)}, {"s"}}, 24, 32, 2), PixelRange::kUnit);
  Dataset test{patches, torch::zeros({32}, torch::kInt64)};
  const double before = model.evaluate(test, 32).at("loss");
  for (int step = 0; step < 40; ++step) model.train_step(patches, torch::Tensor());
  EXPECT_LT(model.evaluate(test, 32).at("loss"), before);
}

TEST(SuperResolution, GrayModelUpscalesAColourImagesLuminanceAndBicubicChroma) {
  torch::manual_seed(6);
  SrFamily model(tiny_sr(2, 3), torch::kCPU);
  model.net()->eval();
  // A gray picture in RGB: R = G = B = what the model makes of the gray image.
  auto gray = torch::rand({1, 9, 11}) * 0.5 + 0.25;
  auto out = upscale_image(model, gray.expand({3, 9, 11}).contiguous(), {});
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{3, 18, 22}));
  const auto alone = upscale_image(model, gray, {});
  for (int64_t c = 0; c < 3; ++c) EXPECT_LT((out[c] - alone[0]).abs().max().item<double>(), 1e-5) << "channel " << c;
  // A colour picture: its luminance goes through the model, its chroma is bicubic (where nothing clipped).
  auto low = torch::rand({3, 9, 11}) * 0.2 + 0.4;
  out = upscale_image(model, low, {});
  const auto ycbcr = rgb_to_ycbcr(low.unsqueeze(0));
  const auto expected_y = upscale_image(model, ycbcr[0].narrow(0, 0, 1), {});
  const auto expected_chroma = resize(ycbcr.narrow(1, 1, 2), 18, 22, "bicubic")[0];
  const auto found = rgb_to_ycbcr(out.unsqueeze(0))[0];
  const auto inside = ((out > 0) & (out < 1)).all(0);
  ASSERT_GT(inside.sum().item<int64_t>(), 18 * 22 / 2);
  EXPECT_LT((found[0] - expected_y[0]).masked_select(inside).abs().max().item<double>(), 1e-5);
  EXPECT_LT((found.narrow(0, 1, 2) - expected_chroma).masked_select(inside.expand({2, 18, 22})).abs().max().item<double>(), 1e-5);
  // A 2-channel image fits neither path.
  EXPECT_THROW(upscale_image(model, torch::rand({2, 8, 8}), {}), Error);
}

TEST(InpaintAe, LossCountsOnlyTheHoleAndKnownPixelsAreKept) {
  auto target = torch::rand({2, 1, 16, 16});
  auto masks = torch::ones({2, 1, 16, 16});
  masks.narrow(2, 4, 8).narrow(3, 4, 8).fill_(0);
  auto output = target.clone();
  output.narrow(2, 0, 2).fill_(5);  // wrong only on known pixels: no loss
  EXPECT_NEAR(hole_loss(output, target, masks).item<double>(), 0.0, 1e-12);
  output.narrow(2, 4, 8).narrow(3, 4, 8).add_(0.5);  // 0.5 off in the whole hole: MSE 0.25
  EXPECT_NEAR(hole_loss(output, target, masks).item<double>(), 0.25, 1e-6);
  // Mean fill: the mean of the known pixels, per image.
  auto image = torch::zeros({1, 1, 4, 4});
  image.narrow(3, 0, 2).fill_(1);  // left half 1, right half 0
  auto mask = torch::ones({1, 1, 4, 4});
  mask[0][0][0][0] = 0;  // hole at a 1 pixel; the 15 known pixels average 7/15
  EXPECT_NEAR(mean_fill(image, mask)[0][0][0][0].item<double>(), 7.0 / 15.0, 1e-6);

  torch::manual_seed(6);
  InpaintAeOptions o;
  o.width = 4;
  InpaintAeFamily model(o, torch::kCPU);
  auto picture = torch::rand({1, 1, 37, 45});  // not a multiple of 16: padded and cropped back
  auto hole = named_mask("center", int64_t{37}, int64_t{45});
  auto filled = model.fill(picture, hole);
  EXPECT_EQ(filled.sizes(), picture.sizes());
  EXPECT_TRUE(torch::equal(filled * hole, picture * hole));
  // Training masks: the centre square of half the side, or 80% of the pixels, per image.
  auto centre = training_masks("center", 3, 16, torch::kFloat);
  EXPECT_NEAR((1 - centre).sum().item<double>(), 3 * 64, 1e-9);
  EXPECT_NEAR((1 - training_masks("random", 64, 16, torch::kFloat)).mean().item<double>(), 0.8, 0.02);
}

TEST(InpaintAe, TrainingBeatsItsStart) {
  torch::manual_seed(7);
  InpaintAeOptions o;
  o.width = 8;
  InpaintAeFamily model(o, torch::kCPU);
  auto patches = normalize_pixels(random_patches({{to_pixels(smooth_image(96, 96), PixelRange::kUnit)}, {"s"}}, 32, 32, 3), PixelRange::kUnit);
  Dataset test{patches, torch::zeros({32}, torch::kInt64)};
  const double before = model.evaluate(test, 32).at("loss");
  // 80 steps: the batch-norm running statistics need a few dozen steps to catch up with the weights.
  for (int step = 0; step < 80; ++step) model.train_step(patches, torch::Tensor());
  const Metrics after = model.evaluate(test, 32);
  EXPECT_LT(after.at("loss"), 0.5 * before);
  EXPECT_GT(after.at("psnr_hole"), after.at("psnr_hole_mean_fill"));
}

TEST(Restoration, CheckpointsGiveIdenticalOutputs) {
  deepgen::testing::TempDir dir("restoration-checkpoint");
  torch::manual_seed(8);
  auto y = torch::rand({1, 1, 20, 20});
  for (const std::string kind : {"dncnn", "sr", "inpaint-ae"}) {
    nlohmann::json options = {{"width", 4}};
    if (kind != "inpaint-ae") options["depth"] = 3;  // it has no depth, and an unknown key is an error
    auto family = make_family(kind, options, torch::kCPU);
    auto patches = torch::rand({4, 1, 16, 16});
    family->train_step(patches, torch::Tensor());  // move BN statistics and weights away from their start
    save_checkpoint(dir / (kind + ".pt"), *family, {kind, family->options(), {}, 1, {}});
    auto copy = load_checkpoint(dir / (kind + ".pt"), torch::kCPU, nullptr);
    if (kind == "dncnn") {
      EXPECT_TRUE(torch::equal(dynamic_cast<DnCnnFamily&>(*family).denoise(y), dynamic_cast<DnCnnFamily&>(*copy).denoise(y)));
    } else if (kind == "sr") {
      EXPECT_TRUE(torch::equal(dynamic_cast<SrFamily&>(*family).refine(y), dynamic_cast<SrFamily&>(*copy).refine(y)));
    } else {
      auto mask = named_mask("center", int64_t{20}, int64_t{20});
      EXPECT_TRUE(torch::equal(dynamic_cast<InpaintAeFamily&>(*family).fill(y, mask), dynamic_cast<InpaintAeFamily&>(*copy).fill(y, mask)));
    }
    EXPECT_EQ(capability<ImageSampler>(*family), nullptr);  // restoration models do not generate
  }
}
