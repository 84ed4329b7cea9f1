// Module shapes and gradients, the losses against hand-computed values, and checkpoint round trips.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "deepgen/core/error.h"
#include "deepgen/models/dcgan.h"
#include "deepgen/models/vae.h"
#include "deepgen/training/checkpoint.h"
#include "test_util.h"

using namespace deepgen;
using deepgen::testing::TempDir;

namespace {
void expect_all_parameters_have_gradients(torch::nn::Module& module) {
  for (const auto& item : module.named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_GT(item.value().grad().abs().sum().item<double>(), 0.0) << item.key();
  }
}
}  // namespace

TEST(Vae, DenseShapesParametersAndGradients) {
  torch::manual_seed(0);
  VaeNet net(VaeOptions{});
  // 784*400+400 + 2*(400*20+20) + 20*400+400 + 400*784+784
  int64_t parameters = 0;
  for (const auto& p : net->parameters()) parameters += p.numel();
  EXPECT_EQ(parameters, 784 * 400 + 400 + 2 * (400 * 20 + 20) + 20 * 400 + 400 + 400 * 784 + 784);
  auto images = torch::rand({5, 1, 28, 28});
  auto out = net->forward(images);
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{5, 1, 28, 28}));
  EXPECT_EQ(out.mu.sizes(), (std::vector<int64_t>{5, 20}));
  EXPECT_EQ(out.logvar.sizes(), (std::vector<int64_t>{5, 20}));
  const VaeLoss loss = vae_loss(out, images);
  (loss.reconstruction + loss.kl).backward();
  expect_all_parameters_have_gradients(*net);
}

TEST(Vae, ConvVariantOnRgb) {
  VaeOptions options;
  options.arch = "conv";
  options.channels = 3;
  options.image_size = 32;
  options.latent_dim = 8;
  VaeNet net(options);
  auto images = torch::rand({4, 3, 32, 32});
  auto out = net->forward(images);
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{4, 3, 32, 32}));
  const VaeLoss loss = vae_loss(out, images);
  (loss.reconstruction + loss.kl).backward();
  expect_all_parameters_have_gradients(*net);
  options.image_size = 30;
  EXPECT_THROW(VaeNet{options}, Error);
}

TEST(Vae, LossMatchesHandComputedValues) {
  VaeOutput out;
  out.logits = torch::zeros({1, 1, 1, 2});  // p = 0.5 for both pixels
  out.mu = torch::tensor({{1.0f, 0.0f}});
  out.logvar = torch::tensor({{0.0f, std::log(2.0f)}});
  const VaeLoss loss = vae_loss(out, torch::tensor({1.0f, 0.0f}).view({1, 1, 1, 2}));
  EXPECT_NEAR(loss.reconstruction.item<double>(), 2 * std::log(2.0), 1e-6);
  // KL = 0.5 * sum(mu^2 + sigma^2 - 1 - log sigma^2) = 0.5 * (1 + 0 - 1 - 0) + 0.5 * (0 + 2 - 1 - log 2)
  EXPECT_NEAR(loss.kl.item<double>(), 0.5 + 0.5 * (1 - std::log(2.0)), 1e-6);
  out.mu = torch::zeros({1, 2});
  out.logvar = torch::zeros({1, 2});
  EXPECT_NEAR(vae_loss(out, torch::zeros({1, 1, 1, 2})).kl.item<double>(), 0.0, 1e-7);
}

TEST(Dcgan, ShapesForEverySupportedSize) {
  for (int64_t size : {28, 32, 64}) {
    for (int64_t channels : {1, 3}) {
      DcganOptions options;
      options.image_size = size;
      options.channels = channels;
      options.g_features = 8;
      options.d_features = 8;
      DcganGenerator generator(options);
      DcganDiscriminator discriminator(options);
      auto images = generator->forward(torch::randn({3, options.latent_dim}));
      EXPECT_EQ(images.sizes(), (std::vector<int64_t>{3, channels, size, size})) << size;
      EXPECT_LE(images.abs().max().item<float>(), 1.0f);  // tanh
      EXPECT_EQ(discriminator->forward(images).sizes(), (std::vector<int64_t>{3}));
    }
  }
  DcganOptions bad;
  bad.image_size = 30;
  EXPECT_THROW(DcganGenerator{bad}, Error);
}

TEST(Checkpoint, SaveLoadGivesIdenticalOutputs) {
  TempDir dir("ckpt");
  for (const std::string kind : {"vae", "gan"}) {
    torch::manual_seed(3);
    nlohmann::json options = kind == "vae" ? nlohmann::json{{"latent_dim", 4}, {"hidden", 32}}
                                           : nlohmann::json{{"g_features", 8}, {"d_features", 8}};
    auto family = make_family(kind, options, torch::kCPU);
    const auto batch = torch::rand({8, 1, 28, 28});
    family->train_step(family->pixel_range() == PixelRange::kUnit ? batch : batch * 2 - 1, torch::zeros({8}, torch::kLong));
    RunState state{kind, family->options(), {{"note", "test"}}, 3, {{"test", {{"loss", 1.5}}}}};
    const std::string path = dir / (kind + ".pt");
    save_checkpoint(path, *family, state);
    RunState loaded_state;
    auto loaded = load_checkpoint(path, torch::kCPU, &loaded_state);
    EXPECT_EQ(loaded_state.kind, kind);
    EXPECT_EQ(loaded_state.epoch, 3);
    EXPECT_EQ(loaded_state.model_options, family->options());
    EXPECT_DOUBLE_EQ(loaded_state.metrics["test"]["loss"].get<double>(), 1.5);
    EXPECT_TRUE(torch::equal(family->sample(6, 42), loaded->sample(6, 42))) << kind;
    // Optimizer state came along: one more identical step gives identical weights.
    torch::manual_seed(9);
    family->train_step(batch, torch::zeros({8}, torch::kLong));
    torch::manual_seed(9);
    loaded->train_step(batch, torch::zeros({8}, torch::kLong));
    EXPECT_TRUE(torch::equal(family->sample(6, 42), loaded->sample(6, 42))) << kind;
    // No temporary file is left behind.
    for (const auto& entry : std::filesystem::directory_iterator(dir.str())) {
      EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
    }
  }
}

TEST(Checkpoint, RejectsGarbageTruncatedAndForeignFiles) {
  TempDir dir("ckpt-bad");
  std::ofstream(dir / "garbage.pt") << "definitely not a checkpoint";
  EXPECT_THROW(load_checkpoint(dir / "garbage.pt", torch::kCPU, nullptr), Error);
  try {
    load_checkpoint(dir / "garbage.pt", torch::kCPU, nullptr);
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("garbage.pt is not a deepgen checkpoint"), std::string::npos) << error.what();
  }
  auto family = make_family("vae", {{"latent_dim", 2}, {"hidden", 8}}, torch::kCPU);
  save_checkpoint(dir / "good.pt", *family, {"vae", family->options(), {}, 1, {}});
  const auto size = std::filesystem::file_size(dir / "good.pt");
  std::filesystem::copy_file(dir / "good.pt", dir / "cut.pt");
  std::filesystem::resize_file(dir / "cut.pt", size / 2);
  EXPECT_THROW(load_checkpoint(dir / "cut.pt", torch::kCPU, nullptr), Error);
  // A LibTorch archive that deepgen did not write.
  torch::serialize::OutputArchive foreign;
  foreign.write("weights", torch::ones({2}));
  foreign.save_to(dir / "foreign.pt");
  try {
    load_checkpoint(dir / "foreign.pt", torch::kCPU, nullptr);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("deepgen_header"), std::string::npos) << error.what();
  }
  EXPECT_THROW(load_checkpoint(dir / "missing.pt", torch::kCPU, nullptr), Error);
}

TEST(Registry, UnknownModelListsTheValidOnes) {
  try {
    make_family("transformer", {}, torch::kCPU);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("valid models: vae, ae, pca, gan, classifier"), std::string::npos) << error.what();
  }
}
