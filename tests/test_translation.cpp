// Image-to-image translation: the pix2pix U-Net and PatchGAN, the loss terms, the paired data layouts
// and their bad input, edge maps, save/load, translation of any size and a short training run; CycleGAN's
// ResNet generator, image pool, loss terms, unpaired layouts, save/load and both directions.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <set>

#include "deepgen/apps/translation.h"
#include "deepgen/data/image_folder.h"
#include "deepgen/data/paired_images.h"
#include "deepgen/core/batch_shard.h"
#include "deepgen/evaluation/generator_quality.h"
#include "deepgen/models/colorize.h"
#include "deepgen/models/cyclegan.h"
#include "deepgen/models/pix2pix.h"
#include "deepgen/nn/image_quality.h"
#include "deepgen/models/registry.h"
#include "test_util.h"

using namespace deepgen;
using deepgen::testing::error_of;
using deepgen::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// A (C, H, W) uint8 image of one value.
torch::Tensor flat(int64_t channels, int64_t height, int64_t width, int value) {
  return torch::full({channels, height, width}, value, torch::kUInt8);
}

void write(const std::string& path, const torch::Tensor& image) {
  fs::create_directories(fs::path(path).parent_path());
  write_png(path, image);
}

// Side-by-side files W x H: left half `left`, right half `right`.
void write_side_by_side(const std::string& path, int64_t width, int64_t height, int left, int right) {
  auto image = torch::cat({flat(3, height, width / 2, left), flat(3, height, width - width / 2, right)}, 2);
  write(path, image);
}

Pix2PixOptions tiny_options(int64_t size = 32) {
  Pix2PixOptions o;
  o.image_size = size;
  o.g_features = 4;
  o.d_features = 4;
  return o;
}

}  // namespace

TEST(Translation, UNetKeepsTheShapeAtEverySizeFrom32To256) {
  torch::manual_seed(0);
  for (const int64_t size : {32, 64, 128, 256}) {
    UNet net(3, 2, unet_depth(size), 4, 0.5);
    EXPECT_EQ(net->depth, int64_t(std::log2(size)));
    auto out = net->forward(torch::randn({2, 3, size, size}));
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 2, size, size})) << size;
    EXPECT_LE(out.abs().max().item<double>(), 1.0);  // tanh
  }
  for (const int64_t bad : {16, 48, 512}) {
    const std::string error = error_of([&] { unet_depth(bad); });
    EXPECT_NE(error.find("--image-size"), std::string::npos) << error;
    EXPECT_NE(error.find(std::to_string(bad)), std::string::npos) << error;
  }
}

TEST(Translation, UNetOutputReachesTheInputThroughTheOutermostSkip) {
  torch::manual_seed(1);
  UNet net(1, 1, 5, 4, 0.0);
  net->eval();
  torch::NoGradGuard no_grad;
  // Cut the deep path: the second down level's convolution outputs zeros, so everything below it is
  // the same for any input. The output must still depend on the input, through the level-0 skip.
  for (auto& module : net->down[1]->modules()) {
    if (auto* conv = module->as<torch::nn::Conv2d>()) conv->weight.zero_();
  }
  auto x1 = torch::rand({1, 1, 32, 32}), x2 = torch::rand({1, 1, 32, 32});
  EXPECT_GT((net->forward(x1) - net->forward(x2)).abs().max().item<double>(), 1e-4);
  // The output layer reads [deep path | skip] channels: zeroing the skip's weights makes it constant.
  auto* output_conv = net->up[0]->ptr(1)->as<torch::nn::ConvTranspose2d>();
  ASSERT_NE(output_conv, nullptr);
  EXPECT_EQ(output_conv->weight.size(0), 2 * 4);  // (in = 2 * features, out, 4, 4)
  output_conv->weight.narrow(0, 4, 4).zero_();
  EXPECT_LT((net->forward(x1) - net->forward(x2)).abs().max().item<double>(), 1e-6);
}

TEST(Translation, PatchGanScoresOnePatchPerPosition) {
  torch::manual_seed(2);
  PatchDiscriminator d(4, 4, 3);
  EXPECT_EQ(d->forward(torch::randn({2, 4, 256, 256})).sizes(), (std::vector<int64_t>{2, 1, 30, 30}));  // the paper's 30x30
  EXPECT_EQ(d->forward(torch::randn({2, 4, 32, 32})).sizes(), (std::vector<int64_t>{2, 1, 2, 2}));
  PatchDiscriminator shallow(4, 4, 1);
  EXPECT_EQ(shallow->forward(torch::randn({1, 4, 32, 32})).sizes(), (std::vector<int64_t>{1, 1, 14, 14}));
}

TEST(Translation, GanTermsMatchHandValues) {
  // Scores (one patch each): real 2, fake -1.
  auto real = torch::full({1, 1, 1, 1}, 2.0), fake = torch::full({1, 1, 1, 1}, -1.0);
  // Cross-entropy: D = (softplus(-2) + softplus(-1)) / 2, G = softplus(1) = -log sigmoid(-1).
  const double softplus_m2 = std::log1p(std::exp(-2.0)), softplus_m1 = std::log1p(std::exp(-1.0));
  EXPECT_NEAR(translation_d_loss("nonsaturating", real, fake).item<double>(), (softplus_m2 + softplus_m1) / 2, 1e-6);
  EXPECT_NEAR(translation_g_loss("nonsaturating", fake).item<double>(), std::log1p(std::exp(1.0)), 1e-6);
  // Least squares: D = ((2 - 1)^2 + (-1)^2) / 2 = 1, G = (-1 - 1)^2 = 4.
  EXPECT_NEAR(translation_d_loss("lsgan", real, fake).item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(translation_g_loss("lsgan", fake).item<double>(), 4.0, 1e-6);
  // Means over patches: two patches of 0 and 2 for lsgan G: ((0-1)^2 + (2-1)^2) / 2 = 1.
  EXPECT_NEAR(translation_g_loss("lsgan", torch::tensor({0.0, 2.0}).view({1, 1, 1, 2})).item<double>(), 1.0, 1e-6);
}

TEST(Translation, EdgeMapsKeepWeakEdgesOnlyWhenJoinedToStrongOnes) {
  auto image = torch::zeros({1, 1, 16, 16});
  image.slice(2, 2, 6).slice(3, 2, 6).fill_(1.0);    // bright block: strong edges
  image.slice(2, 2, 6).slice(3, 6, 10).fill_(0.2);   // dim block touching it: weak edges, joined
  image.slice(2, 10, 14).slice(3, 10, 14).fill_(0.2);  // dim block alone: weak edges, isolated
  auto edges = edge_map(image);  // 0 = edge (black on white)
  EXPECT_EQ(edges.sizes(), image.sizes());
  auto is_edge = (edges == 0);
  EXPECT_GT(is_edge.slice(2, 2, 6).slice(3, 9, 11).sum().item<int64_t>(), 0);   // the joined block's far side
  EXPECT_EQ(is_edge.slice(2, 8, 16).slice(3, 8, 16).sum().item<int64_t>(), 0);  // the isolated block
  EXPECT_EQ(is_edge[0][0][0][15].item<bool>(), false);                          // flat background
  // A lower high threshold makes the isolated block's edges strong.
  auto low_high = (edge_map(image, 0.1, 0.15) == 0);
  EXPECT_GT(low_high.slice(2, 8, 16).slice(3, 8, 16).sum().item<int64_t>(), 0);
}

TEST(Translation, SideBySideLayoutSplitsEachFileByDirection) {
  TempDir dir("pairs-side");
  for (int k = 0; k < 3; ++k) write_side_by_side(dir / ("train/" + std::to_string(k) + ".png"), 64, 32, 0, 255);
  write_side_by_side(dir / "val/0.png", 64, 32, 0, 255);  // no test/: val/ tests
  DataOptions data;
  data.dir = dir.str();
  PairedSplits a2b = load_pairs(data, {"side-by-side", "a2b"}, PixelRange::kUnit, torch::kCPU);
  EXPECT_EQ(a2b.splits.train.images.sizes(), (std::vector<int64_t>{3, 6, 32, 32}));
  EXPECT_EQ(a2b.splits.test.size(), 1);
  EXPECT_EQ(a2b.input_channels, 3);
  EXPECT_EQ(a2b.output_channels, 3);
  EXPECT_NEAR(a2b.splits.train.images.narrow(1, 0, 3).mean().item<double>(), 0.0, 1e-6);  // left: input
  EXPECT_NEAR(a2b.splits.train.images.narrow(1, 3, 3).mean().item<double>(), 1.0, 1e-6);
  PairedSplits b2a = load_pairs(data, {"side-by-side", "b2a"}, PixelRange::kSymmetric, torch::kCPU);
  EXPECT_NEAR(b2a.splits.train.images.narrow(1, 0, 3).mean().item<double>(), 1.0, 1e-6);   // right: input
  EXPECT_NEAR(b2a.splits.train.images.narrow(1, 3, 3).mean().item<double>(), -1.0, 1e-6);  // [-1, 1]
}

TEST(Translation, BadPairedLayoutsAreOneLineErrors) {
  TempDir dir("pairs-bad");
  write_side_by_side(dir / "train/0.png", 64, 32, 0, 255);
  write(dir / "train/odd.png", flat(3, 32, 65, 9));
  write_side_by_side(dir / "test/0.png", 64, 32, 0, 255);
  DataOptions data;
  data.dir = dir.str();
  std::string error = error_of([&] { load_pairs(data, {"side-by-side", "a2b"}, PixelRange::kUnit, torch::kCPU); });
  EXPECT_NE(error.find(dir / "train/odd.png"), std::string::npos) << error;
  EXPECT_NE(error.find("even width, found 65x32"), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  // No test/ nor val/.
  TempDir no_test("pairs-no-test");
  write_side_by_side(no_test / "train/0.png", 64, 32, 0, 255);
  data.dir = no_test.str();
  error = error_of([&] { load_pairs(data, {"side-by-side", "a2b"}, PixelRange::kUnit, torch::kCPU); });
  EXPECT_NE(error.find(no_test / "test"), std::string::npos) << error;
  // Folders: a file of A without its B.
  TempDir folders("pairs-folders-bad");
  for (const char* split : {"train", "test"}) {
    write(folders / ("A/" + std::string(split) + "/x.png"), flat(1, 32, 32, 0));
    write(folders / ("B/" + std::string(split) + "/x.png"), flat(3, 32, 32, 255));
  }
  write(folders / "A/test/y.png", flat(1, 32, 32, 0));
  data.dir = folders.str();
  error = error_of([&] { load_pairs(data, {"folders", "a2b"}, PixelRange::kUnit, torch::kCPU); });
  EXPECT_NE(error.find(folders / "B/test/y.png"), std::string::npos) << error;
  EXPECT_NE(error.find("matching file names"), std::string::npos) << error;
  // Derived pairs have one direction; gray pairs need colour.
  error = error_of([&] { load_pairs(data, {"edges", "b2a"}, PixelRange::kUnit, torch::kCPU); });
  EXPECT_NE(error.find("--direction b2a"), std::string::npos) << error;
}

TEST(Translation, FolderLayoutPairsMatchingNamesWithTheirOwnChannels) {
  TempDir dir("pairs-folders");
  for (const char* split : {"train", "test"}) {
    for (int k = 0; k < 2; ++k) {
      const std::string name = std::string(split) + "/" + std::to_string(k) + ".png";
      write(dir / ("A/" + name), flat(1, 40, 40, 50 * k));
      write(dir / ("B/" + name), flat(3, 40, 40, 200 - 50 * k));
    }
  }
  DataOptions data;
  data.dir = dir.str();
  PairedSplits pairs = load_pairs(data, {"folders", "a2b"}, PixelRange::kUnit, torch::kCPU);
  EXPECT_EQ(pairs.input_channels, 1);
  EXPECT_EQ(pairs.output_channels, 3);
  EXPECT_EQ(pairs.splits.image_size, 64);  // 40 rounded up to a power of two
  EXPECT_EQ(pairs.splits.train.images.sizes(), (std::vector<int64_t>{2, 4, 64, 64}));
  // Pair 1: A = 50, B = 150.
  EXPECT_NEAR(pairs.splits.train.images[1][0].mean().item<double>(), 50 / 255.0, 1e-6);
  EXPECT_NEAR(pairs.splits.train.images[1][1].mean().item<double>(), 150 / 255.0, 1e-6);
  PairedSplits reverse = load_pairs(data, {"folders", "b2a"}, PixelRange::kUnit, torch::kCPU);
  EXPECT_EQ(reverse.input_channels, 3);
  EXPECT_EQ(reverse.output_channels, 1);
}

TEST(Translation, EdgePairsOfFashionMnistKeepTheLabels) {
  DEEPGEN_NEEDS_FASHION_MNIST();
  DataOptions data;
  data.dir = DEEPGEN_FASHION_MNIST;
  data.train_limit = 20;
  data.test_limit = 10;
  PairedSplits pairs = load_pairs(data, {"edges", "a2b"}, PixelRange::kSymmetric, torch::kCPU);
  EXPECT_EQ(pairs.splits.train.images.sizes(), (std::vector<int64_t>{20, 2, 32, 32}));
  EXPECT_EQ(pairs.splits.train.labels.size(0), 20);
  EXPECT_GT(pairs.splits.train.labels.max().item<int64_t>(), 0);  // real labels, not zeros
  auto edges = pairs.splits.train.images.narrow(1, 0, 1);
  EXPECT_TRUE(((edges == -1) | (edges == 1)).all().item<bool>());  // binary in [-1, 1]
  EXPECT_GT((edges == -1).sum().item<int64_t>(), 0);
  const std::string error = error_of([&] { load_pairs(data, {"gray", "a2b"}, PixelRange::kUnit, torch::kCPU); });
  EXPECT_NE(error.find("needs colour photographs"), std::string::npos) << error;
}

TEST(Translation, SaveAndLoadGiveIdenticalTranslations) {
  torch::manual_seed(3);
  Pix2PixFamily a(tiny_options(), torch::kCPU);
  auto pairs = torch::rand({4, 2, 32, 32}) * 2 - 1;
  a.train_step(pairs, torch::zeros({4}, torch::kLong));  // moves weights, BN statistics and Adam state
  torch::serialize::OutputArchive out;
  a.save(out);
  std::stringstream stream;
  out.save_to(stream);
  torch::manual_seed(99);
  Pix2PixFamily b(tiny_options(), torch::kCPU);
  torch::serialize::InputArchive in;
  in.load_from(stream);
  b.load(in);
  auto image = torch::rand({1, 1, 32, 32});
  EXPECT_TRUE(torch::equal(a.translate(image, "a2b"), b.translate(image, "a2b")));
  // The optimizer state came along: one more identical step gives identical weights.
  torch::manual_seed(5);
  a.train_step(pairs, torch::zeros({4}, torch::kLong));
  torch::manual_seed(5);
  b.train_step(pairs, torch::zeros({4}, torch::kLong));
  EXPECT_TRUE(torch::equal(a.translate(image, "a2b"), b.translate(image, "a2b")));
}

TEST(Translation, TranslatesImagesOfAnySizeWholeOrTiled) {
  torch::manual_seed(4);
  Pix2PixFamily model(tiny_options(), torch::kCPU);
  auto image = torch::rand({1, 45, 37});  // not a multiple of 32
  TileOptions whole;
  auto out = translate_image(model, image, "a2b", whole);
  EXPECT_EQ(out.sizes(), image.sizes());
  EXPECT_GE(out.min().item<double>(), 0.0);
  EXPECT_LE(out.max().item<double>(), 1.0);
  TileOptions tiles;
  tiles.tile = 16;
  EXPECT_EQ(translate_image(model, image, "a2b", tiles).sizes(), image.sizes());
  std::string error = error_of([&] { translate_image(model, image, "b2a", whole); });
  EXPECT_NE(error.find("--direction b2a"), std::string::npos) << error;
  error = error_of([&] { translate_image(model, torch::rand({3, 32, 32}), "a2b", whole); });
  EXPECT_NE(error.find("1 channels"), std::string::npos) << error;
  // The registry knows it as a translator.
  EXPECT_EQ(models_with<Translator>(), "colorize, pix2pix or cyclegan");
  EXPECT_EQ(models_with<UnpairedTranslator>(), "cyclegan");
}

TEST(Translation, TrainingStepsLowerTheL1OnFashionMnistEdges) {
  DEEPGEN_NEEDS_FASHION_MNIST();
  for (const bool gan : {false, true}) {
    SCOPED_TRACE(gan ? "pix2pix" : "L1 only");
    torch::manual_seed(6);
    DataOptions data;
    data.dir = DEEPGEN_FASHION_MNIST;
    data.train_limit = 64;
    data.test_limit = 32;
    PairedSplits pairs = load_pairs(data, {"edges", "a2b"}, PixelRange::kSymmetric, torch::kCPU);
    Pix2PixOptions options = tiny_options();
    options.g_features = 8;
    options.adversarial = gan;
    options.optimizer.lr = 1e-3;
    Pix2PixFamily model(options, torch::kCPU);
    const double before = model.evaluate(pairs.splits.test, 32).at("l1");
    for (int step = 0; step < 30; ++step) {
      auto index = torch::randint(0, 64, {16}, torch::kLong);
      auto metrics = model.train_step(pairs.splits.train.images.index_select(0, index), {});
      EXPECT_EQ(metrics.count("loss_d"), gan ? 1u : 0u);
    }
    const Metrics after = model.evaluate(pairs.splits.test, 32);
    EXPECT_LT(after.at("l1"), 0.8 * before) << "before " << before;
    EXPECT_GT(after.at("psnr"), 0.0);
    auto picture = model.translation_picture(pairs.splits.test, 16);
    EXPECT_EQ(picture.images.sizes(), (std::vector<int64_t>{48, 1, 32, 32}));  // 2 x (inputs, outputs, targets)
  }
}

TEST(Colorize, YCbCrRoundTripsAndGrayHasNoChroma) {
  torch::manual_seed(7);
  auto rgb = torch::rand({2, 3, 8, 8});
  auto ycbcr = rgb_to_ycbcr(rgb);
  EXPECT_TRUE(torch::allclose(ycbcr_to_rgb(ycbcr), rgb, 1e-5, 1e-5));
  EXPECT_LE(ycbcr.narrow(1, 1, 2).abs().max().item<double>(), 0.5 + 1e-6);
  // Pure red: Y = 0.299, Cb = -0.299 / 1.772, Cr = 0.701 / 1.402 = 0.5 (JPEG's full-range YCbCr).
  auto red = rgb_to_ycbcr(torch::tensor({1.f, 0.f, 0.f}).view({1, 3, 1, 1})).flatten();
  EXPECT_NEAR(red[0].item<double>(), 0.299, 1e-6);
  EXPECT_NEAR(red[1].item<double>(), -0.299 / 1.772, 1e-6);
  EXPECT_NEAR(red[2].item<double>(), 0.5, 1e-6);
  auto gray = rgb_to_ycbcr(torch::full({1, 3, 4, 4}, 0.3));
  EXPECT_LT(gray.narrow(1, 1, 2).abs().max().item<double>(), 1e-6);
}

TEST(Colorize, ColourfulnessMatchesHandValues) {
  // Uniform red: rg = 255, yb = 127.5, no spread: 0.3 * sqrt(255^2 + 127.5^2).
  auto red = torch::zeros({1, 3, 4, 4});
  red.select(1, 0).fill_(1.0);
  EXPECT_NEAR(colourfulness(red).item<double>(), 0.3 * std::sqrt(255.0 * 255.0 + 127.5 * 127.5), 1e-3);
  EXPECT_NEAR(colourfulness(torch::full({1, 3, 4, 4}, 0.7)).item<double>(), 0.0, 1e-6);
  // Half red, half green pixels: rg = +-255 (spread 255, mean 0), yb = 127.5 (spread 0, mean 127.5).
  auto halves = torch::zeros({1, 3, 2, 2});
  halves.select(1, 0).select(1, 0).fill_(1.0);
  halves.select(1, 1).select(1, 1).fill_(1.0);
  EXPECT_NEAR(colourfulness(halves).item<double>(), 255.0 + 0.3 * 127.5, 1e-3);
}

TEST(Colorize, LearnsChromaThatFollowsLuminanceAndTranslatesAnySize) {
  torch::manual_seed(8);
  // Colour a function of brightness (dark blue, bright orange): learnable from the luminance alone.
  auto x = torch::rand({64, 1, 4, 4});
  x = torch::nn::functional::interpolate(x, torch::nn::functional::InterpolateFuncOptions().size(
      std::vector<int64_t>{32, 32}).mode(torch::kBilinear).align_corners(false));  // smooth (64, 1, 32, 32)
  auto images = torch::cat({x, x * 0.6, 1 - x}, 1).clamp(0, 1);
  ColorizeOptions options;
  options.g_features = 8;
  options.depth = 5;
  ColorizeFamily model(options, torch::kCPU);
  const Dataset test{images.narrow(0, 0, 16), torch::zeros({16}, torch::kLong)};
  const Metrics before = model.evaluate(test, 16);
  for (int step = 0; step < 40; ++step) model.train_step(images.narrow(0, 16 + (step % 3) * 16, 16), {});
  const Metrics after = model.evaluate(test, 16);
  EXPECT_LT(after.at("loss"), 0.7 * before.at("loss"));
  EXPECT_GT(after.at("psnr"), after.at("psnr_gray"));
  EXPECT_GT(after.at("colourfulness_truth"), 0.0);
  EXPECT_NEAR(after.at("colourfulness_truth"), before.at("colourfulness_truth"), 1e-6);
  // Any size in, the same size out, RGB.
  auto out = model.translate(torch::rand({1, 1, 45, 37}), "a2b");
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 3, 45, 37}));
  const std::string error = error_of([&] { model.translate(torch::rand({1, 3, 8, 8}), "a2b"); });
  EXPECT_NE(error.find("expected gray images"), std::string::npos) << error;
  // Save and load: the same colours.
  torch::serialize::OutputArchive archive;
  model.save(archive);
  std::stringstream stream;
  archive.save_to(stream);
  ColorizeFamily copy(options, torch::kCPU);
  torch::serialize::InputArchive in;
  in.load_from(stream);
  copy.load(in);
  auto gray = luminance(images.narrow(0, 0, 2));
  EXPECT_TRUE(torch::equal(model.translate(gray, "a2b"), copy.translate(gray, "a2b")));
}

namespace {
CycleGanOptions tiny_cycle(int64_t size = 16) {
  CycleGanOptions o;
  o.image_size = size;
  o.g_features = 4;
  o.d_features = 4;
  o.d_layers = 1;
  o.blocks = 1;
  return o;
}
}  // namespace

TEST(CycleGan, ResnetGeneratorKeepsTheShapeAndHasThePapersBlocks) {
  torch::manual_seed(10);
  for (const int64_t size : {8, 28, 64}) {
    ResnetGenerator g(1, 3, 4, 2);
    auto out = g->forward(torch::randn({2, 1, size, size}));
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 3, size, size})) << size;
    EXPECT_LE(out.abs().max().item<double>(), 1.0);  // tanh
  }
  CycleGanOptions o;
  o.image_size = 128;
  EXPECT_EQ(cyclegan_blocks(o), 6);
  o.image_size = 256;
  EXPECT_EQ(cyclegan_blocks(o), 9);
  o.blocks = 3;
  EXPECT_EQ(cyclegan_blocks(o), 3);
  // Each residual block adds its input back: a block whose convolutions are zero is the identity.
  ResnetGeneratorBlock block(8);
  for (auto& p : block->parameters()) p.detach().zero_();
  auto x = torch::randn({1, 8, 6, 6});
  EXPECT_TRUE(torch::allclose(block->forward(x), x));
  // The PatchGAN with instance norm: the paper's 30x30 map at 256 px, and the sizes the checks use.
  PatchDiscriminator d(3, 4, 3, /*instance_norm=*/true);
  EXPECT_EQ(d->forward(torch::randn({1, 3, 256, 256})).sizes(), (std::vector<int64_t>{1, 1, 30, 30}));
  EXPECT_EQ(patch_map_side(256, 3), 30);
  EXPECT_EQ(patch_map_side(28, 3), 1);
  EXPECT_EQ(patch_last_norm_side(28, 3), 2);
  EXPECT_EQ(patch_map_side(28, 2), 5);
  PatchDiscriminator d28(1, 4, 2, true);
  EXPECT_EQ(d28->forward(torch::randn({1, 1, 28, 28})).sizes(), (std::vector<int64_t>{1, 1, 5, 5}));
}

TEST(CycleGan, ImagePoolFillsThenSwapsHalfTheTime) {
  torch::manual_seed(11);
  ImagePool pool(4);
  auto first = torch::arange(3).to(torch::kFloat).view({3, 1, 1, 1});
  EXPECT_TRUE(torch::equal(pool.query(first), first));  // not full: returned as given, stored
  EXPECT_EQ(pool.size(), 3);
  auto next = (torch::arange(2) + 10).to(torch::kFloat).view({2, 1, 1, 1});
  auto out = pool.query(next);  // the 4th is stored and returned; the 5th is returned or swapped
  EXPECT_EQ(pool.size(), 4);
  EXPECT_EQ(out[0].item<float>(), 10.f);
  // Many queries of a new value: about half come back new, the rest are values stored before.
  int fresh = 0, old = 0;
  for (int k = 0; k < 400; ++k) {
    const float value = 100.f + float(k);
    const float got = pool.query(torch::full({1, 1, 1, 1}, value)).item<float>();
    if (got == value) {
      ++fresh;
    } else {
      ++old;
      EXPECT_LT(got, value);  // something stored earlier
    }
  }
  EXPECT_GT(fresh, 150);
  EXPECT_GT(old, 150);
  EXPECT_EQ(pool.size(), 4);
  // Capacity 0: no history.
  ImagePool none(0);
  EXPECT_TRUE(torch::equal(none.query(first), first));
  EXPECT_EQ(none.size(), 0);
  // Contents round-trip; more than the capacity is refused.
  ImagePool copy(4);
  copy.restore(pool.contents());
  EXPECT_TRUE(torch::equal(copy.contents(), pool.contents()));
  const std::string error = error_of([&] { ImagePool(2).restore(pool.contents()); });
  EXPECT_NE(error.find("more than its capacity of 2"), std::string::npos) << error;
  // The draws are the step's: inside a step's scope, two pools fed alike answer alike.
  ImagePool p1(2), p2(2);
  auto fill = torch::zeros({2, 1, 1, 1});
  p1.query(fill);
  p2.query(fill);
  torch::Tensor r1, r2;
  {
    ShardScope scope({0, 8, 8, 5, 7}, true);
    r1 = p1.query(torch::ones({8, 1, 1, 1}));
  }
  torch::rand({3});  // the global generator moves; the step's draws do not
  {
    ShardScope scope({0, 8, 8, 5, 7}, true);
    r2 = p2.query(torch::ones({8, 1, 1, 1}));
  }
  EXPECT_TRUE(torch::equal(r1, r2));
}

TEST(CycleGan, LossTermsMatchHandValues) {
  CycleGanOptions o;  // lsgan, lambda 10, identity 0.5
  auto a = torch::zeros({1, 1, 2, 2}), b = torch::ones({1, 1, 2, 2});
  auto cycled_a = torch::full({1, 1, 2, 2}, 0.2);  // |0.2 - 0| = 0.2
  auto cycled_b = torch::full({1, 1, 2, 2}, 0.6);  // |0.6 - 1| = 0.4
  auto same_b = torch::full({1, 1, 2, 2}, 0.9);    // |0.9 - 1| = 0.1
  auto same_a = torch::full({1, 1, 2, 2}, -0.3);   // 0.3
  auto scores_b = torch::full({1, 1, 1, 1}, 0.5);  // lsgan G: (0.5 - 1)^2 = 0.25
  auto scores_a = torch::full({1, 1, 1, 1}, -1.0); // (-1 - 1)^2 = 4
  CycleTerms t = cyclegan_generator_loss(o, scores_b, scores_a, a, cycled_a, b, cycled_b, same_b, same_a);
  EXPECT_NEAR(t.gan.item<double>(), 4.25, 1e-6);
  EXPECT_NEAR(t.cycle_a.item<double>(), 0.2, 1e-6);
  EXPECT_NEAR(t.cycle_b.item<double>(), 0.4, 1e-6);
  EXPECT_NEAR(t.identity_a.item<double>(), 0.3, 1e-6);
  EXPECT_NEAR(t.identity_b.item<double>(), 0.1, 1e-6);
  // 4.25 + 10 (0.2 + 0.4) + 10 * 0.5 (0.3 + 0.1) = 4.25 + 6 + 2 = 12.25
  EXPECT_NEAR(t.total.item<double>(), 12.25, 1e-5);
  o.lambda_identity = 0;
  t = cyclegan_generator_loss(o, scores_b, scores_a, a, cycled_a, b, cycled_b, {}, {});
  EXPECT_FALSE(t.identity_a.defined());
  EXPECT_NEAR(t.total.item<double>(), 10.25, 1e-5);
  // The linear schedule: constant for half of the run, then straight down to 0 at its end.
  ScheduleOptions linear;
  linear.name = "linear";
  EXPECT_DOUBLE_EQ(schedule_factor(linear, 0, 200), 1.0);
  EXPECT_DOUBLE_EQ(schedule_factor(linear, 100, 200), 1.0);
  EXPECT_NEAR(schedule_factor(linear, 150, 200), 0.5, 1e-12);
  EXPECT_NEAR(schedule_factor(linear, 200, 200), 0.0, 1e-12);
  linear.decay_start = 150;
  EXPECT_NEAR(schedule_factor(linear, 175, 200), 0.5, 1e-12);
  const std::string error = error_of([&] { schedule_factor(linear, 10, 100); });
  EXPECT_NE(error.find("--decay-start"), std::string::npos) << error;
}

TEST(CycleGan, UnpairedFoldersCountEachTestImageOnce) {
  TempDir dir("unpaired");
  for (int k = 0; k < 3; ++k) write(dir / ("trainA/" + std::to_string(k) + ".png"), flat(1, 20, 20, 10 + k));
  for (int k = 0; k < 5; ++k) write(dir / ("trainB/" + std::to_string(k) + ".png"), flat(3, 20, 20, 100 + k));
  for (int k = 0; k < 2; ++k) write(dir / ("testA/" + std::to_string(k) + ".png"), flat(1, 20, 20, 20 + k));
  write(dir / "testB/0.png", flat(3, 20, 20, 200));
  DataOptions data;
  data.dir = dir.str();
  UnpairedSplits u = load_unpaired(data, {"folders", 7, 9, 1}, PixelRange::kUnit, torch::kCPU);
  EXPECT_EQ(u.channels_a, 1);
  EXPECT_EQ(u.channels_b, 3);
  EXPECT_EQ(u.splits.image_size, 20);  // a multiple of 4 already
  EXPECT_EQ(u.splits.train.images.sizes(), (std::vector<int64_t>{5, 4, 20, 20}));  // max(3, 5) examples
  // Every A image appears in the training examples, the larger domain B once each, in order.
  std::set<int> a_values;
  for (int64_t i = 0; i < 5; ++i) {
    a_values.insert(int(std::lround(u.splits.train.images[i][0][0][0].item<double>() * 255)));
    EXPECT_EQ(std::lround(u.splits.train.images[i][1][0][0].item<double>() * 255), 100 + i);
  }
  EXPECT_EQ(a_values, (std::set<int>{10, 11, 12}));
  // Test: 2 examples, B's one image repeated; domain_images gives each once.
  EXPECT_EQ(u.splits.test.size(), 2);
  EXPECT_EQ(domain_images(u.splits.test, "a", 1).size(0), 2);
  auto b = domain_images(u.splits.test, "b", 1);
  EXPECT_EQ(b.sizes(), (std::vector<int64_t>{1, 3, 20, 20}));
  EXPECT_NEAR(b.mean().item<double>(), 200 / 255.0, 1e-6);
  // --image-size 0 rounds the side up to a multiple of 4.
  TempDir odd("unpaired-odd");
  for (const char* sub : {"trainA", "trainB", "testA", "testB"}) write(odd / (std::string(sub) + "/x.png"), flat(1, 18, 18, 0));
  data.dir = odd.str();
  EXPECT_EQ(load_unpaired(data, {"folders", 7, 9, 1}, PixelRange::kUnit, torch::kCPU).splits.image_size, 20);
}

TEST(CycleGan, BadUnpairedLayoutsAreOneLineErrors) {
  TempDir dir("unpaired-bad");
  for (const char* sub : {"trainA", "trainB", "testA"}) write(dir / (std::string(sub) + "/x.png"), flat(1, 16, 16, 0));
  DataOptions data;
  data.dir = dir.str();
  std::string error = error_of([&] { load_unpaired(data, {"folders", 7, 9, 1}, PixelRange::kUnit, torch::kCPU); });
  EXPECT_NE(error.find(dir / "testB"), std::string::npos) << error;
  EXPECT_NE(error.find("trainA/, trainB/, testA/, testB/"), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  fs::create_directories(dir / "testB");  // empty
  error = error_of([&] { load_unpaired(data, {"folders", 7, 9, 1}, PixelRange::kUnit, torch::kCPU); });
  EXPECT_NE(error.find("holds no images"), std::string::npos) << error;
  write(dir / "testB/x.png", flat(1, 16, 16, 0));
  data.image_size = 30;  // not a multiple of 4
  error = error_of([&] { load_unpaired(data, {"folders", 7, 9, 1}, PixelRange::kUnit, torch::kCPU); });
  EXPECT_NE(error.find("multiple of 4"), std::string::npos) << error;
  data.image_size = 0;
  error = error_of([&] { load_unpaired(data, {"classes", 7, 9, 1}, PixelRange::kUnit, torch::kCPU); });
  EXPECT_NE(error.find("--class-a: expected a class of"), std::string::npos) << error;  // one class only
  // Identity needs equal channels; the PatchGAN must leave room for its last instance norm.
  CycleGanOptions o = tiny_cycle();
  o.channels_b = 3;
  error = error_of([&] { CycleGanFamily(o, torch::kCPU); });
  EXPECT_NE(error.find("--lambda-identity"), std::string::npos) << error;
  o.lambda_identity = 0;
  CycleGanFamily mixed(o, torch::kCPU);  // gray <-> colour without the identity loss is fine
  EXPECT_EQ(mixed.translate(torch::rand({1, 1, 16, 16}), "a2b").size(1), 3);
  EXPECT_EQ(mixed.translate(torch::rand({1, 3, 16, 16}), "b2a").size(1), 1);
  o = tiny_cycle(16);
  o.d_layers = 3;
  error = error_of([&] { CycleGanFamily(o, torch::kCPU); });
  EXPECT_NE(error.find("--d-layers 3"), std::string::npos) << error;
}

TEST(CycleGan, TrainsBothWaysSavesAndLoadsExactly) {
  DEEPGEN_NEEDS_FASHION_MNIST();
  torch::manual_seed(12);
  DataOptions data;
  data.dir = DEEPGEN_FASHION_MNIST;
  data.train_limit = 32;
  data.test_limit = 8;
  UnpairedSplits u = load_unpaired(data, {"classes", 7, 9, 1}, PixelRange::kSymmetric, torch::kCPU);
  EXPECT_EQ(u.splits.train.images.sizes(), (std::vector<int64_t>{32, 2, 28, 28}));
  EXPECT_EQ(u.test_a, 8);
  EXPECT_EQ(u.test_b, 8);
  CycleGanOptions o = tiny_cycle(28);
  o.g_features = 8;
  o.d_layers = 2;
  o.pool_size = 4;
  o.optimizer.lr = 2e-3;
  CycleGanFamily model(o, torch::kCPU);
  const Metrics before = model.evaluate(u.splits.test, 8);
  for (int step = 0; step < 25; ++step) {
    auto index = torch::randint(0, 32, {8}, torch::kLong);
    auto metrics = model.train_step(u.splits.train.images.index_select(0, index), {});
    for (const char* name : {"loss", "loss_g_gan", "cycle", "identity", "loss_d", "d_real", "d_fake"}) {
      ASSERT_EQ(metrics.count(name), 1u) << name;
    }
  }
  EXPECT_EQ(model.pool_a().size(), 4);
  const Metrics after = model.evaluate(u.splits.test, 8);
  EXPECT_LT(after.at("cycle_l1_a"), 0.8 * before.at("cycle_l1_a"));  // the cycle loss trains
  EXPECT_LT(after.at("cycle_l1_b"), 0.8 * before.at("cycle_l1_b"));
  EXPECT_GT(after.at("cycle_psnr_a"), before.at("cycle_psnr_a"));
  auto picture = model.translation_picture(u.splits.test, 8);
  EXPECT_EQ(picture.images.sizes(), (std::vector<int64_t>{48, 1, 28, 28}));  // 2 domains x 3 rows of 8
  // Save and load: the same translations both ways, and one more identical step (pools included).
  torch::serialize::OutputArchive out;
  model.save(out);
  std::stringstream stream;
  out.save_to(stream);
  torch::manual_seed(99);
  CycleGanFamily copy(o, torch::kCPU);
  torch::serialize::InputArchive in;
  in.load_from(stream);
  copy.load(in);
  EXPECT_TRUE(torch::equal(copy.pool_b().contents(), model.pool_b().contents()));
  auto image = torch::rand({1, 1, 30, 26});  // any size: padded to a multiple of 4 and cropped back
  for (const char* direction : {"a2b", "b2a"}) {
    auto translated = model.translate(image, direction);
    EXPECT_EQ(translated.sizes(), image.sizes());
    EXPECT_TRUE(torch::equal(translated, copy.translate(image, direction))) << direction;
  }
  auto batch = u.splits.train.images.narrow(0, 0, 8);
  torch::manual_seed(5);
  model.train_step(batch, {});
  torch::manual_seed(5);
  copy.train_step(batch, {});
  EXPECT_TRUE(torch::equal(model.translate(image, "a2b"), copy.translate(image, "a2b")));
  const std::string error = error_of([&] { model.translate(torch::rand({1, 1, 4, 4}), "a2b"); });
  EXPECT_NE(error.find("at least 8x8"), std::string::npos) << error;
  EXPECT_NE(model.data_parallel_limit(), "");
}

TEST(CycleGan, UnpairedQualityFindsTheTargetClassFromTheRealImages) {
  DEEPGEN_NEEDS_FASHION_MNIST();
  torch::manual_seed(13);
  DataOptions data;
  data.dir = DEEPGEN_FASHION_MNIST;
  data.train_limit = 8;
  data.test_limit = 16;
  UnpairedSplits u = load_unpaired(data, {"classes", 1, 8, 1}, PixelRange::kSymmetric, torch::kCPU);  // trousers, bags
  CycleGanOptions o = tiny_cycle(28);
  o.d_layers = 2;
  CycleGanFamily model(o, torch::kCPU);
  // A small classifier fitted to the two classes' test images, so that its decisions are known: the real
  // bags are class 8, the trousers class 1.
  auto classifier_family = make_family("classifier", {{"arch", "mlp"}, {"width", 16}, {"depth", 1}, {"classes", 10},
                                                      {"channels", 1}, {"image_size", 28}}, torch::kCPU);
  auto* classifier = capability<ClassifierFamily>(*classifier_family);
  ASSERT_NE(classifier, nullptr);
  const auto a = domain_images(u.splits.test, "a", 1), b = domain_images(u.splits.test, "b", 1);
  auto images = (torch::cat({a, b}) + 1) / 2;
  auto labels = torch::cat({torch::full({a.size(0)}, 1, torch::kLong), torch::full({b.size(0)}, 8, torch::kLong)});
  for (int step = 0; step < 60; ++step) classifier_family->train_step(images, labels);
  const auto quality = evaluate_unpaired_translation(model, *classifier, u.splits.test, 8);
  ASSERT_EQ(quality.size(), 2u);
  EXPECT_EQ(quality[0].direction, "a2b");
  EXPECT_EQ(quality[0].images, 16);
  EXPECT_EQ(quality[0].target_class, 8);  // the majority class of the real bags
  EXPECT_EQ(quality[1].target_class, 1);
  EXPECT_GT(quality[0].real_share, 0.9);  // the classifier learnt its two classes
  EXPECT_LT(quality[0].source_share, 0.1);
  EXPECT_GE(quality[0].frechet_distance, 0.0);
  for (const auto& q : quality) EXPECT_TRUE(q.target_share >= 0 && q.target_share <= 1);
  // A paired model is refused by the unpaired scorer, naming what it needs.
  Pix2PixFamily paired(tiny_options(), torch::kCPU);
  const std::string error = error_of([&] { evaluate_unpaired_translation(paired, *classifier, u.splits.test, 8); });
  EXPECT_NE(error.find("needs a cyclegan run"), std::string::npos) << error;
}
