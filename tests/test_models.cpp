// Module shapes and gradients, the losses against hand-computed values, and checkpoint round trips.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "deepgen/models/registry.h"
#include "deepgen/core/error.h"
#include "deepgen/models/dcgan.h"
#include "deepgen/models/vae.h"
#include "deepgen/training/checkpoint.h"
#include "test_util.h"

using namespace deepgen;
using deepgen::testing::TempDir;
using deepgen::testing::error_of;

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
    auto sample = [](Family& f) { return capability<ImageSampler>(f)->sample(6, 42); };
    EXPECT_TRUE(torch::equal(sample(*family), sample(*loaded))) << kind;
    // Optimizer state came along: one more identical step gives identical weights.
    torch::manual_seed(9);
    family->train_step(batch, torch::zeros({8}, torch::kLong));
    torch::manual_seed(9);
    loaded->train_step(batch, torch::zeros({8}, torch::kLong));
    EXPECT_TRUE(torch::equal(sample(*family), sample(*loaded))) << kind;
    // No temporary file is left behind.
    for (const auto& entry : std::filesystem::directory_iterator(dir.str())) {
      EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
    }
  }
}

// A weights-only checkpoint (the model zoo's) loads the same networks with fresh optimizers, and
// init_weights (--init-from) puts them into a new run's model of the same options, refusing others.
TEST(Checkpoint, WeightsOnlyAndInitWeights) {
  TempDir dir("ckpt-weights");
  torch::manual_seed(3);
  const nlohmann::json options{{"latent_dim", 4}, {"hidden", 32}};
  auto family = make_family("vae", options, torch::kCPU);
  family->train_step(torch::rand({8, 1, 28, 28}), torch::zeros({8}, torch::kLong));
  RunState state{"vae", family->options(), {{"note", "test"}}, 2, {}};
  save_checkpoint(dir / "full.pt", *family, state);
  state.weights_only = true;
  save_checkpoint(dir / "weights.pt", *family, state);
  // Adam keeps two moments per weight: the weights alone are about a third.
  EXPECT_LT(std::filesystem::file_size(dir / "weights.pt") * 2, std::filesystem::file_size(dir / "full.pt"));
  auto sample = [](Family& f) { return capability<ImageSampler>(f)->sample(6, 42); };
  RunState loaded_state;
  auto loaded = load_checkpoint(dir / "weights.pt", torch::kCPU, &loaded_state);
  EXPECT_TRUE(loaded_state.weights_only);
  EXPECT_FALSE(read_checkpoint_state(dir / "full.pt").weights_only);
  EXPECT_TRUE(torch::equal(sample(*family), sample(*loaded)));

  torch::manual_seed(11);  // other initial weights
  auto fresh = make_family("vae", options, torch::kCPU);
  EXPECT_FALSE(torch::equal(sample(*family), sample(*fresh)));
  EXPECT_EQ(init_weights(dir / "full.pt", *fresh).epoch, 2);
  EXPECT_TRUE(torch::equal(sample(*family), sample(*fresh)));

  auto narrower = make_family("vae", {{"latent_dim", 2}, {"hidden", 32}}, torch::kCPU);
  const std::string shapes = error_of([&] { init_weights(dir / "weights.pt", *narrower); });
  EXPECT_NE(shapes.find("latent_dim 4 there, 2 here"), std::string::npos) << shapes;
  auto gan = make_family("gan", {{"g_features", 8}, {"d_features", 8}}, torch::kCPU);
  const std::string kind = error_of([&] { init_weights(dir / "weights.pt", *gan); });
  EXPECT_NE(kind.find("holds a vae model"), std::string::npos) << kind;
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

// Checkpoints written by deepgen before the registry redesign (format 1; tests/fixtures, tiny runs of
// four models with different data) still load: the same kind and epoch, options that round-trip to the
// very JSON in the header (an option renamed or re-typed would show here), and a working forward pass.
TEST(Checkpoint, LoadsTheFixturesOfFormatOne) {
  for (const std::string kind : {"vae", "gan", "charlm", "dncnn"}) {
    const std::string path = std::string(DEEPGEN_FIXTURES) + "/checkpoint-v1-" + kind + ".pt";
    RunState state;
    auto family = load_checkpoint(path, torch::kCPU, &state);
    EXPECT_EQ(state.kind, kind);
    EXPECT_EQ(family->kind(), kind);
    EXPECT_EQ(state.epoch, 1) << kind;
    // Every recorded option as recorded; options added since take their defaults (which keep the old
    // behaviour: a gan without spectral norm, R1 or a gradient penalty).
    for (const auto& [key, value] : state.model_options.items()) {
      EXPECT_EQ(family->options().at(key), value) << kind << " " << key;
    }
    torch::NoGradGuard no_grad;
    if (auto* sampler = capability<ImageSampler>(*family)) {
      const auto images = sampler->sample(3, 0);
      EXPECT_EQ(images.sizes(), torch::IntArrayRef({3, 1, 8, 8})) << kind;
      EXPECT_TRUE(torch::isfinite(images).all().item<bool>()) << kind;
    }
  }
}

// The later format versions, from fixtures written by the deepgen that introduced them (a tiny 8x8 vae):
// version 2, inside an epoch (the step and the epoch's partial sums), and version 3, weights only (the
// model zoo's, whose optimizer starts fresh).
TEST(Checkpoint, LoadsEveryPastFormatVersion) {
  const std::string dir = std::string(DEEPGEN_FIXTURES) + "/";
  RunState inside;
  auto family = load_checkpoint(dir + "checkpoint-v2-vae-inside-epoch.pt", torch::kCPU, &inside);
  EXPECT_EQ(inside.kind, "vae");
  EXPECT_EQ(inside.epoch, 0);
  EXPECT_GE(inside.step, 1);
  EXPECT_TRUE(inside.partial.contains("sums")) << inside.partial.dump();
  EXPECT_FALSE(inside.weights_only);
  RunState weights;
  auto zoo = load_checkpoint(dir + "checkpoint-v3-vae-weights-only.pt", torch::kCPU, &weights);
  EXPECT_TRUE(weights.weights_only);
  EXPECT_EQ(weights.step, 0);
  EXPECT_EQ(weights.epoch, 1);
  for (auto* f : {family.get(), zoo.get()}) {
    torch::NoGradGuard no_grad;
    const auto images = capability<ImageSampler>(*f)->sample(3, 0);
    EXPECT_EQ(images.sizes(), torch::IntArrayRef({3, 1, 8, 8}));
    EXPECT_TRUE(torch::isfinite(images).all().item<bool>());
  }
}

// The model options are declared once (core/options.h); unknown keys, bad values and options of another
// variant are errors that name them.
TEST(Options, UnknownKeysAreErrorsWithASuggestion) {
  try {
    make_family("vae", {{"latent_dimm", 2}}, torch::kCPU);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("model options of 'vae': unknown key 'latent_dimm' (did you mean 'latent_dim'?)"),
              std::string::npos) << error.what();
  }
  try {
    make_family("gan", {{"optimizer", {{"lrr", 0.1}}}}, torch::kCPU);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("optimizer options: unknown key 'lrr' (did you mean 'lr'?)"), std::string::npos)
        << error.what();
  }
}

// A text that is not UTF-8 (a flag from anywhere) is an ordinary value in messages (found by fuzz_cli:
// the message's own JSON dump threw).
TEST(Options, TextThatIsNotUtf8IsShownNotThrown) {
  const nlohmann::json bad = std::string("a\x06\xff");
  EXPECT_NO_THROW(shown(bad));
  const ModelSpec& spec = model_spec("vae");
  try {
    spec.complete({{"arch", std::string("\xff\xfe")}});
    ADD_FAILURE() << "accepted";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("--arch"), std::string::npos) << error.what();
  }
}

TEST(Options, ValuesAreCheckedAgainstTheirDeclarations) {
  auto message = [](const nlohmann::json& options) {
    try {
      make_family("vae", options, torch::kCPU);
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message({{"latent_dim", 0}}), "--latent-dim: expected a number > 0, found 0");
  EXPECT_EQ(message({{"arch", "cnn"}}), "--arch: expected dense or conv, found 'cnn'");
  EXPECT_EQ(message({{"latent_dim", 2.5}}), "--latent-dim: expected a whole number, found 2.5");
  EXPECT_EQ(message({{"beta", -1}}), "--beta: expected a number >= 0, found -1");
  const OptionField* field = model_spec("dncnn").options->find("sigma_range");
  ASSERT_NE(field, nullptr);
  EXPECT_EQ(field->parse(std::vector<std::string>{"5", "50"}), nlohmann::json({5.0, 50.0}));
  EXPECT_THROW(field->parse(std::vector<std::string>{"5", "x"}), Error);
}

TEST(Options, AnOptionOfAnotherVariantNamesTheVariant) {
  const ModelSpec& ae = model_spec("ae");
  const nlohmann::json given = {{"sparsity", 0.1}};
  EXPECT_EQ(ae.options->out_of_scope(ae.complete(given), given, "train ae"),
            "train ae --sparsity: only used with --variant sparse, so here it would be ignored; drop --sparsity or "
            "choose that variant");
  const nlohmann::json sparse = {{"sparsity", 0.1}, {"variant", "sparse"}};
  EXPECT_EQ(ae.options->out_of_scope(ae.complete(sparse), sparse, "train ae"), "");
}

TEST(Options, EveryModelsDefaultsRoundTrip) {
  for (const ModelSpec* spec : model_specs()) {
    const nlohmann::json defaults = spec->complete(nlohmann::json::object());
    EXPECT_EQ(spec->complete(defaults), defaults) << spec->name;
    for (const OptionField& field : spec->options->fields()) {
      if (field.recorded) EXPECT_TRUE(defaults.contains(field.key)) << spec->name << " " << field.key;
    }
  }
}

// Commands ask for capabilities; the registry says which models have one.
TEST(Registry, CapabilitiesAreFoundAndListed) {
  EXPECT_EQ(models_with<Denoiser>(), "dncnn");
  EXPECT_EQ(models_with<ImageSampler>(), "vae, pca or gan");
  auto vae = make_family("vae", {{"hidden", 8}}, torch::kCPU);
  EXPECT_NE(capability<ImageSampler>(*vae), nullptr);
  EXPECT_EQ(capability<Denoiser>(*vae), nullptr);
  auto dncnn = make_family("dncnn", {{"width", 4}, {"depth", 3}}, torch::kCPU);
  ASSERT_NE(capability<Denoiser>(*dncnn), nullptr);
  EXPECT_EQ(capability<Denoiser>(*dncnn)->sigma(), 25);
  EXPECT_EQ(capability<ImageSampler>(*dncnn), nullptr);
}

// The latent space is capabilities too: which models encode, decode, have a N(0, I) prior, take a class.
TEST(Registry, LatentCapabilitiesAreDeclaredByTheModelsThatHaveThem) {
  EXPECT_EQ(models_with<Encoder>(), "vae, ae or pca");
  EXPECT_EQ(models_with<Decoder>(), "vae, ae, pca or gan");
  EXPECT_EQ(models_with<PriorDecoder>(), "vae or gan");
  EXPECT_EQ(models_with<ClassConditional>(), "gan");
  auto gan = make_family("gan", {{"hidden", 8}, {"latent_dim", 3}}, torch::kCPU);
  EXPECT_EQ(capability<Encoder>(*gan), nullptr);
  EXPECT_FALSE(can_reconstruct(*gan));
  EXPECT_THROW(reconstruct(*gan, torch::zeros({1, 1, 28, 28})), Error);
  ASSERT_NE(capability<Decoder>(*gan), nullptr);
  EXPECT_EQ(capability<Decoder>(*gan)->latent_dim(), 3);
  EXPECT_EQ(capability<ClassConditional>(*gan)->condition_classes(), 0);  // trained without --conditional
  auto ae = make_family("ae", {{"code_size", 4}, {"hidden", 8}}, torch::kCPU);
  EXPECT_TRUE(can_reconstruct(*ae));
  EXPECT_EQ(capability<PriorDecoder>(*ae), nullptr);
  EXPECT_EQ(capability<Encoder>(*ae)->latent_dim(), 4);
  EXPECT_EQ(capability<Encoder>(*ae)->encode(torch::rand({2, 1, 28, 28})).sizes(), (std::vector<int64_t>{2, 4}));
  auto classifier = make_family("classifier", {}, torch::kCPU);
  EXPECT_EQ(capability<Decoder>(*classifier), nullptr);
  EXPECT_EQ(capability<ClassConditional>(*classifier), nullptr);
}

// A PriorDecoder's samples are the decoded prior codes of the same seed (what `arithmetic` relies on).
TEST(Registry, APriorDecoderSamplesItsPriorCodes) {
  for (const char* kind : {"vae", "gan"}) {
    torch::manual_seed(0);
    auto family = make_family(kind, {{"hidden", 8}, {"latent_dim", 3}}, torch::kCPU);
    auto* decoder = capability<PriorDecoder>(*family);
    ASSERT_NE(decoder, nullptr) << kind;
    const auto sampled = capability<ImageSampler>(*family)->sample(5, 7);
    EXPECT_TRUE(torch::equal(sampled, decoder->decode(prior_codes(5, 3, 7)))) << kind;
    EXPECT_FALSE(torch::equal(sampled, decoder->decode(prior_codes(5, 3, 8)))) << kind;
  }
}

TEST(Registry, UnknownModelListsTheValidOnes) {
  try {
    make_family("transformer", {}, torch::kCPU);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("valid models: vae, ae, pca, gan, classifier"), std::string::npos) << error.what();
  }
}
