// Classifiers and the training toolkit: shapes and parameter counts against hand-computed values (and
// the layer table), every optimizer on a quadratic, schedule values, FGSM bounds, ensembles, CIFAR-10.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "deepgen/models/registry.h"
#include "deepgen/core/error.h"
#include "deepgen/evaluation/robustness.h"
#include "deepgen/data/dataset.h"
#include "deepgen/evaluation/layers.h"
#include "deepgen/models/classifier.h"
#include "deepgen/training/checkpoint.h"
#include "deepgen/nn/optimizer.h"
#include "deepgen/training/trainer.h"
#include "test_util.h"

using namespace deepgen;
using deepgen::testing::TempDir;

namespace {
int64_t parameter_count(torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& p : module.parameters()) count += p.numel();
  return count;
}

ClassifierOptions arch(const std::string& name, int64_t channels = 1, int64_t size = 28) {
  ClassifierOptions o;
  o.arch = name;
  o.channels = channels;
  o.image_size = size;
  return o;
}
}  // namespace

TEST(Classifier, ParameterCountsMatchHandComputedValues) {
  // LeNet-5: conv 6x(1x5x5)+6, conv 16x(6x5x5)+16, fc 400->120, 120->84, 84->10.
  ClassifierNet lenet(arch("lenet5"));
  EXPECT_EQ(parameter_count(*lenet), (6 * 25 + 6) + (16 * 6 * 25 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10));
  EXPECT_EQ(parameter_count(*lenet), 61706);
  // MLP 784-512-512-10.
  ClassifierNet mlp(arch("mlp"));
  EXPECT_EQ(parameter_count(*mlp), (784 * 512 + 512) + (512 * 512 + 512) + (512 * 10 + 10));
  // Maxout doubles the units feeding each activation: 784-(2x512)-(2x512)-10 weights.
  ClassifierOptions maxout = arch("mlp");
  maxout.activation = "maxout";
  ClassifierNet mlp_maxout(maxout);
  EXPECT_EQ(parameter_count(*mlp_maxout), (784 * 1024 + 1024) + (512 * 1024 + 1024) + (512 * 10 + 10));
  // VGG16 on ImageNet, the lectures' table: 138,357,544 parameters.
  ClassifierOptions vgg16 = arch("vgg16", 3, 224);
  vgg16.classes = 1000;
  ClassifierNet big(vgg16);
  EXPECT_EQ(parameter_count(*big), 138357544);
}

TEST(Classifier, EveryArchitectureAndActivationGivesLogitsAndGradients) {
  torch::manual_seed(0);
  struct Case {
    std::string arch, activation;
    int64_t channels, size;
  };
  const std::vector<Case> cases = {{"mlp", "sigmoid", 1, 28},   {"mlp", "maxout", 1, 28},     {"lenet5", "tanh", 1, 28},
                                   {"lenet5", "maxout", 3, 32}, {"vgg", "elu", 1, 28},        {"vgg", "leaky-relu", 3, 32},
                                   {"inception", "relu", 1, 28}, {"resnet", "relu", 3, 32},   {"resnet", "elu", 1, 28}};
  for (const auto& c : cases) {
    ClassifierOptions o = arch(c.arch, c.channels, c.size);
    o.activation = c.activation;
    o.dropout = 0.3;
    if (c.arch == "resnet") o.depth = 1;
    ClassifierNet net(o);
    auto logits = net->forward(torch::rand({4, c.channels, c.size, c.size}));
    ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{4, 10})) << c.arch << " " << c.activation;
    torch::nn::functional::cross_entropy(logits, torch::tensor({0, 1, 2, 3})).backward();
    int64_t without_gradient = 0;
    for (const auto& p : net->parameters()) without_gradient += !p.grad().defined();
    EXPECT_EQ(without_gradient, 0) << c.arch << " " << c.activation;
  }
  // Naive inception keeps every input channel in its pooling branch, so it grows faster than with reductions.
  ClassifierOptions naive = arch("inception");
  naive.inception_reduce = false;
  Inception naive_module(32, 32, false, true, "relu"), reduced_module(32, 32, true, true, "relu");
  EXPECT_EQ(naive_module->out_channels, 32 + 32 + 16 + 32);
  EXPECT_EQ(reduced_module->out_channels, 32 + 32 + 16 + 16);
  EXPECT_EQ(naive_module->forward(torch::rand({2, 32, 7, 7})).size(1), naive_module->out_channels);
  EXPECT_GT(parameter_count(*naive_module), parameter_count(*reduced_module));
  EXPECT_THROW(ClassifierNet{[] { auto o = arch("resnet"); o.activation = "maxout"; return o; }()}, Error);
}

TEST(Classifier, InitializationSchemes) {
  torch::manual_seed(1);
  auto first_linear_std = [](const std::string& init) {
    ClassifierOptions o = arch("mlp");
    o.init = init;
    o.width = 2000;
    ClassifierNet net(o);
    return net->layers->ptr(1)->as<torch::nn::Linear>()->weight.std().item<double>();
  };
  EXPECT_NEAR(first_linear_std("he"), std::sqrt(2.0 / 784), 0.002);                // Kaiming normal, fan in
  EXPECT_NEAR(first_linear_std("xavier"), std::sqrt(2.0 / (784 + 2000)), 0.002);    // Glorot uniform
  EXPECT_NEAR(first_linear_std("normal"), 0.01, 0.0005);
}

TEST(Layers, SizeArithmeticAndTheTable) {
  EXPECT_EQ(conv_output_size(224, 3, 1, 1), 224);
  EXPECT_EQ(conv_output_size(224, 2, 2, 0), 112);
  EXPECT_EQ(conv_output_size(28, 5, 1, 0), 24);
  EXPECT_EQ(conv_output_size(28, 4, 2, 1), 14);
  EXPECT_EQ(transposed_output_size(7, 4, 2, 1), 14);
  EXPECT_EQ(transposed_output_size(1, 4, 1, 0), 4);
  EXPECT_EQ(transposed_output_size(7, 3, 2, 1, 1), 14);
  ClassifierNet lenet(arch("lenet5"));
  const LayerTable table = layer_table(lenet->layers, {1, 28, 28});
  EXPECT_EQ(table.parameters, 61706);
  ASSERT_EQ(table.rows.front().output, (std::vector<int64_t>{6, 28, 28}));
  EXPECT_EQ(table.rows.front().arithmetic, "(28 + 2*2 - 5)/1 + 1 = 28");
  EXPECT_EQ(table.rows.back().output, (std::vector<int64_t>{10}));
  int64_t summed = 0, activations = 0;
  for (const auto& row : table.rows) {
    summed += row.parameters;
    activations += row.activations;
  }
  EXPECT_EQ(summed, 61706);
  EXPECT_EQ(activations, table.activations);
  // 6x28x28 after the first conv and its activation, 6x14x14 after pooling...
  EXPECT_EQ(table.rows[0].activations, 6 * 28 * 28);
  EXPECT_EQ(table.rows[2].activations, 6 * 14 * 14);
}

TEST(Optimizers, EachReducesAQuadratic) {
  for (const std::string name : {"sgd", "momentum", "nesterov", "adam"}) {
    torch::manual_seed(2);
    auto w = torch::zeros({5}, torch::requires_grad());
    const auto target = torch::tensor({1.0f, -2.0f, 3.0f, 0.5f, -1.0f});
    OptimizerOptions options;
    options.name = name;
    options.lr = name == "adam" ? 0.1 : 0.05;
    Optimizer optimizer({w}, options);
    const double start = (w - target).pow(2).sum().item<double>();
    for (int i = 0; i < 200; ++i) optimizer.step((w - target).pow(2).sum());
    const double end = (w - target).pow(2).sum().item<double>();
    EXPECT_LT(end, 1e-3 * start) << name;
  }
  // Weight decay alone pulls the weights to zero.
  auto w = torch::ones({3}, torch::requires_grad());
  OptimizerOptions decay;
  decay.name = "sgd";
  decay.lr = 0.1;
  decay.weight_decay = 1.0;
  Optimizer optimizer({w}, decay);
  optimizer.step((w * 0).sum());
  EXPECT_TRUE(torch::allclose(w, torch::full({3}, 0.9)));
  EXPECT_THROW(Optimizer({w}, [] { OptimizerOptions o; o.name = "rmsprop"; return o; }()), Error);
}

TEST(Optimizers, ClippingBoundsTheGlobalNorm) {
  auto a = torch::zeros({3}, torch::requires_grad()), b = torch::zeros({4}, torch::requires_grad());
  OptimizerOptions options;
  options.name = "sgd";
  options.lr = 1.0;
  options.clip_grad = 0.5;
  Optimizer optimizer({a, b}, options);
  optimizer.step(a.sum() * 10 + b.sum() * 20);  // gradient norm sqrt(3*100 + 4*400) ~ 43.6
  const double norm = std::sqrt(a.grad().pow(2).sum().item<double>() + b.grad().pow(2).sum().item<double>());
  EXPECT_NEAR(norm, 0.5, 1e-5);
  EXPECT_NEAR(optimizer.last_grad_norm().item<double>(), std::sqrt(3 * 100.0 + 4 * 400.0), 1e-4);  // reported before clipping
  // With lr 1 the step has the clipped norm too.
  EXPECT_NEAR(std::sqrt(a.pow(2).sum().item<double>() + b.pow(2).sum().item<double>()), 0.5, 1e-5);
}

TEST(Schedules, StepDecayAndSgdrValues) {
  ScheduleOptions step;
  step.name = "step";
  step.step_size = 10;
  step.gamma = 0.1;
  EXPECT_DOUBLE_EQ(schedule_factor(step, 0), 1.0);
  EXPECT_DOUBLE_EQ(schedule_factor(step, 9.99), 1.0);
  EXPECT_NEAR(schedule_factor(step, 10), 0.1, 1e-12);
  EXPECT_NEAR(schedule_factor(step, 25), 0.01, 1e-12);
  ScheduleOptions sgdr;
  sgdr.name = "sgdr";
  sgdr.period = 10;
  sgdr.period_mult = 2;
  sgdr.min_factor = 0.0;
  EXPECT_DOUBLE_EQ(schedule_factor(sgdr, 0), 1.0);
  EXPECT_NEAR(schedule_factor(sgdr, 5), 0.5, 1e-12);            // half-way down the first cosine
  EXPECT_NEAR(schedule_factor(sgdr, 9.999), 0.0, 1e-6);         // bottom of the first cycle
  EXPECT_DOUBLE_EQ(schedule_factor(sgdr, 10), 1.0);             // warm restart
  EXPECT_NEAR(schedule_factor(sgdr, 20), 0.5, 1e-12);           // second cycle is 20 epochs long
  EXPECT_DOUBLE_EQ(schedule_factor(sgdr, 30), 1.0);             // third cycle starts at 10 + 20
  sgdr.min_factor = 0.1;
  EXPECT_NEAR(schedule_factor(sgdr, 5), 0.1 + 0.9 * 0.5, 1e-12);
  ScheduleOptions none;
  EXPECT_DOUBLE_EQ(schedule_factor(none, 123.4), 1.0);
}

TEST(Schedules, TheTrainerAppliesThem) {
  DEEPGEN_NEEDS_FASHION_MNIST();
  TempDir dir("schedule");
  DataOptions data_options;
  data_options.dir = DEEPGEN_FASHION_MNIST;
  data_options.train_limit = 64;
  data_options.test_limit = 16;
  const DataSplits data = load_data(data_options, PixelRange::kUnit, torch::kCPU);
  auto family = make_family("classifier", {{"arch", "mlp"}, {"width", 16}, {"optimizer", {{"name", "sgd"}, {"lr", 0.5}}}},
                            torch::kCPU);
  TrainerOptions trainer;
  trainer.out_dir = dir.str();
  trainer.epochs = 2;
  trainer.batch_size = 64;  // one step per epoch: the lr is set from epochs 0 and 1
  trainer.progress = "none";
  trainer.schedule.name = "step";
  trainer.schedule.step_size = 1;
  trainer.schedule.gamma = 0.5;
  const TrainResult result = fit(*family, data, trainer, {"classifier", family->options(), {}, 0, {}});
  EXPECT_DOUBLE_EQ(result.train.at("lr"), 0.25);
}

TEST(Fgsm, PerturbationIsBoundedAndRaisesTheLoss) {
  DEEPGEN_NEEDS_FASHION_MNIST();
  torch::manual_seed(3);
  DataOptions data_options;
  data_options.dir = DEEPGEN_FASHION_MNIST;
  data_options.train_limit = 1024;
  data_options.test_limit = 256;
  const DataSplits data = load_data(data_options, PixelRange::kUnit, torch::kCPU);
  ClassifierFamily family(arch("mlp"), torch::kCPU);
  for (int64_t start = 0; start < 1024; start += 64) {
    family.train_step(data.train.images.narrow(0, start, 64), data.train.labels.narrow(0, start, 64));
  }
  auto& net = family.net();
  net->eval();
  auto images = data.test.images, labels = data.test.labels;
  for (double eps : {0.05, 0.1, 0.2}) {
    auto attacked = fgsm(net, images, labels, eps);
    EXPECT_LE((attacked - images).abs().max().item<double>(), eps + 1e-6);
    EXPECT_GE(attacked.min().item<double>(), 0.0);
    EXPECT_LE(attacked.max().item<double>(), 1.0);
    torch::NoGradGuard no_grad;
    const double clean = torch::nn::functional::cross_entropy(net->forward(images), labels).item<double>();
    const double attacked_loss = torch::nn::functional::cross_entropy(net->forward(attacked), labels).item<double>();
    EXPECT_GT(attacked_loss, clean) << eps;
  }
  // The accuracy under attack (evaluation/robustness.h): eps 0 is the clean accuracy, eps 0.2 lowers it.
  const AttackAccuracy accuracy = fgsm_accuracy(family, data.test, {0.0, 0.2}, 100);
  ASSERT_EQ(accuracy.attacked.size(), 2u);
  EXPECT_DOUBLE_EQ(accuracy.attacked[0], accuracy.clean);
  EXPECT_GT(accuracy.clean, 0.5);
  EXPECT_LT(accuracy.attacked[1], accuracy.clean - 0.1);
  // Adversarial training mixes in the attacked loss: alpha * C(x) + (1 - alpha) * C(x~), with C(x~) > C(x).
  ClassifierOptions adversarial = arch("mlp");
  adversarial.adversarial_alpha = 0.5;
  ClassifierFamily robust(adversarial, torch::kCPU);
  auto batch = images.narrow(0, 0, 32), batch_labels = labels.narrow(0, 0, 32);
  double clean_loss = 0;
  {
    torch::NoGradGuard no_grad;
    clean_loss = torch::nn::functional::cross_entropy(robust.net()->forward(batch), batch_labels).item<double>();
  }
  const Metrics metrics = MetricSums::of(robust.train_step(batch, batch_labels));
  ASSERT_TRUE(metrics.count("adversarial_loss"));
  EXPECT_GT(metrics.at("adversarial_loss"), clean_loss);
  EXPECT_NEAR(metrics.at("loss"), 0.5 * clean_loss + 0.5 * metrics.at("adversarial_loss"), 1e-5);
}

TEST(Ensemble, OfIdenticalModelsEqualsTheModel) {
  TempDir dir("ensemble");
  torch::manual_seed(4);
  auto family = make_family("classifier", {{"arch", "lenet5"}}, torch::kCPU);
  save_checkpoint(dir / "a.pt", *family, {"classifier", family->options(), {}, 1, {}});
  auto copy = load_checkpoint(dir / "a.pt", torch::kCPU, nullptr);
  auto& a = dynamic_cast<ClassifierFamily&>(*family);
  auto& b = dynamic_cast<ClassifierFamily&>(*copy);
  auto images = torch::rand({16, 1, 28, 28});
  EXPECT_TRUE(torch::allclose(ensemble_probabilities({&a, &b}, images), a.probabilities(images), 1e-6, 1e-7));
  EXPECT_TRUE(torch::allclose(ensemble_probabilities({&a}, images), a.probabilities(images)));
  // Two different models: the mean of their probabilities.
  auto other = make_family("classifier", {{"arch", "mlp"}}, torch::kCPU);
  auto& c = dynamic_cast<ClassifierFamily&>(*other);
  EXPECT_TRUE(torch::allclose(ensemble_probabilities({&a, &c}, images), (a.probabilities(images) + c.probabilities(images)) / 2));
}

TEST(Cifar10, ReadsTheBinaryFormatAndRejectsBadFiles) {
  TempDir dir("cifar");
  auto write_batch = [&](const std::string& name, int records, int bytes_cut = 0) {
    std::vector<char> data(size_t(records) * 3073);
    for (int r = 0; r < records; ++r) {
      data[size_t(r) * 3073] = char(r % 10);
      data[size_t(r) * 3073 + 1] = char(200);              // red plane, first pixel
      data[size_t(r) * 3073 + 1 + 1024 + 1] = char(100);   // green plane, second pixel
    }
    std::ofstream(dir / name, std::ios::binary).write(data.data(), std::streamsize(data.size() - size_t(bytes_cut)));
  };
  for (int i = 1; i <= 5; ++i) write_batch("data_batch_" + std::to_string(i) + ".bin", 3);
  write_batch("test_batch.bin", 2);
  DataOptions options;
  options.dir = dir.str();
  const DataSplits data = load_data(options, PixelRange::kUnit, torch::kCPU);
  EXPECT_EQ(data.format, "cifar10");
  EXPECT_EQ(data.train.images.sizes(), (std::vector<int64_t>{15, 3, 32, 32}));
  EXPECT_EQ(data.test.images.sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
  EXPECT_EQ(data.train.labels[4].item<int64_t>(), 1);
  EXPECT_FLOAT_EQ(data.train.images[0][0][0][0].item<float>(), 200.0f / 255);
  EXPECT_FLOAT_EQ(data.train.images[0][1][0][1].item<float>(), 100.0f / 255);
  EXPECT_EQ(data.class_names[0], "airplane");
  write_batch("test_batch.bin", 2, 100);
  try {
    load_data(options, PixelRange::kUnit, torch::kCPU);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("test_batch.bin: expected a multiple of 3073 bytes"), std::string::npos)
        << error.what();
  }
}

TEST(Cifar10, BatchAboveTheLimitIsRefusedBeforeAllocating) {
  TempDir dir("cifar-limit");
  const std::vector<char> record(3073, 0);
  for (const std::string name : {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                                 "data_batch_5.bin", "test_batch.bin"}) {
    std::ofstream out(dir / name, std::ios::binary);
    for (int r = 0; r < 2; ++r) out.write(record.data(), std::streamsize(record.size()));
  }
  deepgen::testing::ScopedEnv limit("DEEPGEN_MAX_DATA_BYTES", "6000");
  DataOptions options;
  options.dir = dir.str();
  try {
    load_data(options, PixelRange::kUnit, torch::kCPU);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("data_batch_1.bin: 6146 bytes, above the limit (the limit is 6000 bytes; "
                                             "set DEEPGEN_MAX_DATA_BYTES"),
              std::string::npos) << error.what();
  }
}
