// The generic trainer: loss falls, resume equals an uninterrupted run, divergence is caught and the
// last good checkpoint survives.
#include <gtest/gtest.h>

#include <thread>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <filesystem>
#include <fstream>

#include "deepgen/models/registry.h"
#include "deepgen/core/error.h"
#include "deepgen/core/runtime.h"
#include "deepgen/training/trainer.h"
#include "test_util.h"

using namespace deepgen;
using deepgen::testing::TempDir;

namespace {

DataSplits small_fashion_mnist(int64_t train, int64_t test, PixelRange range = PixelRange::kUnit) {
  DataOptions options;
  options.dir = DEEPGEN_FASHION_MNIST;
  options.train_limit = train;
  options.test_limit = test;
  return load_data(options, range, torch::kCPU);
}

std::vector<nlohmann::json> read_lines(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TrainerOptions quiet(const std::string& out, int64_t epochs) {
  TrainerOptions options;
  options.out_dir = out;
  options.epochs = epochs;
  options.batch_size = 64;
  options.progress = "none";
  return options;
}

RunState fresh_state(Family& family) { return {family.kind(), family.options(), {{"test", true}}, 0, {}}; }

// A family whose loss turns NaN on a chosen epoch, to test the trainer's divergence handling alone.
class FlakyFamily : public Family {
 public:
  explicit FlakyFamily(int64_t bad_epoch) : bad_epoch_(bad_epoch), weight_(torch::zeros({1})) {}
  std::string kind() const override { return "vae"; }
  nlohmann::json options() const override { return nlohmann::json::object(); }
  PixelRange pixel_range() const override { return PixelRange::kUnit; }
  bool conv_heavy() const override { return false; }
  StepMetrics train_step(const torch::Tensor& images, const torch::Tensor&) override {
    weight_ += 1;
    return {{"loss", metric(epoch_ == bad_epoch_ ? std::nan("") : 1.0, torch::kCPU)}};
  }
  Metrics evaluate(const Dataset&, int64_t) override { return {{"loss", double(++epoch_)}}; }
  std::map<std::string, Picture> pictures(const Dataset&) override { return {}; }
  void save(torch::serialize::OutputArchive& archive) override { archive.write("weight", weight_); }
  void load(torch::serialize::InputArchive& archive) override { archive.read("weight", weight_); }

 private:
  int64_t bad_epoch_, epoch_ = 1;
  torch::Tensor weight_;
};

}  // namespace

TEST(Trainer, VaeLossFallsAndRunDirectoryIsComplete) {
  DEEPGEN_NEEDS_FASHION_MNIST();
  TempDir dir("fit");
  const DataSplits data = small_fashion_mnist(1024, 128);
  torch::manual_seed(1);
  auto family = make_family("vae", {{"hidden", 128}}, torch::kCPU);
  const TrainResult result = fit(*family, data, quiet(dir.str(), 5), fresh_state(*family));
  EXPECT_EQ(result.epochs, 5);
  const auto lines = read_lines(dir / "metrics.jsonl");
  ASSERT_EQ(lines.size(), 10u);  // train + test per epoch
  EXPECT_EQ(lines[0]["split"], "train");
  EXPECT_EQ(lines[1]["split"], "test");
  EXPECT_EQ(lines[9]["epoch"], 5);
  for (const auto& line : lines) {
    EXPECT_TRUE(line.contains("loss") && line.contains("reconstruction") && line.contains("kl")) << line;
  }
  // An untrained model's negative ELBO is ~545 nats per image (784 * log 2); seen here: train 509 -> 328,
  // test 467 -> 326 over 5 epochs.
  EXPECT_LT(lines[9]["loss"].get<double>(), 0.8 * lines[1]["loss"].get<double>());
  EXPECT_LT(lines[8]["loss"].get<double>(), 0.7 * lines[0]["loss"].get<double>());
  EXPECT_TRUE(std::filesystem::exists(dir / "checkpoint.pt"));
  EXPECT_TRUE(std::filesystem::exists(dir / "images/epoch_005_samples.png"));
  EXPECT_TRUE(std::filesystem::exists(dir / "images/epoch_005_reconstructions.png"));
  EXPECT_EQ(read_checkpoint_state(dir / "checkpoint.pt").epoch, 5);
}

TEST(Trainer, ResumeEqualsUninterruptedRun) {
  DEEPGEN_NEEDS_FASHION_MNIST();
  const DataSplits data = small_fashion_mnist(384, 128);
  for (const std::string kind : {"vae", "gan"}) {
    const DataSplits& d = kind == "vae" ? data : small_fashion_mnist(256, 64, PixelRange::kSymmetric);
    const nlohmann::json options = kind == "vae" ? nlohmann::json{{"hidden", 64}}
                                                 : nlohmann::json{{"g_features", 8}, {"d_features", 8}};
    TempDir straight("straight-" + kind), split("split-" + kind);
    torch::manual_seed(5);
    auto a = make_family(kind, options, torch::kCPU);
    const TrainResult whole = fit(*a, d, quiet(straight.str(), 2), fresh_state(*a));

    torch::manual_seed(5);
    auto b = make_family(kind, options, torch::kCPU);
    fit(*b, d, quiet(split.str(), 1), fresh_state(*b));
    torch::manual_seed(12345);  // whatever happens in between must not matter
    RunState state;
    auto resumed = load_checkpoint(split / "checkpoint.pt", torch::kCPU, &state, /*restore_rng=*/true);
    EXPECT_EQ(state.epoch, 1);
    const TrainResult rest = fit(*resumed, d, quiet(split.str(), 2), state);
    EXPECT_EQ(rest.epochs, 2);
    EXPECT_DOUBLE_EQ(rest.test.at("loss"), whole.test.at("loss")) << kind;
    EXPECT_DOUBLE_EQ(rest.train.at("loss"), whole.train.at("loss")) << kind;
    EXPECT_TRUE(torch::equal(capability<ImageSampler>(*a)->sample(4, 7), capability<ImageSampler>(*resumed)->sample(4, 7)))
        << kind;
  }
}

TEST(Trainer, DivergenceStopsAndKeepsTheLastGoodCheckpoint) {
  DEEPGEN_NEEDS_FASHION_MNIST();
  TempDir dir("nan");
  const DataSplits data = small_fashion_mnist(64, 16);
  FlakyFamily family(/*bad_epoch=*/2);
  try {
    fit(family, data, quiet(dir.str(), 3), fresh_state(family));
    FAIL() << "expected DivergenceError";
  } catch (const DivergenceError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("loss is nan at epoch 2, batch 1"), std::string::npos) << message;
    EXPECT_NE(message.find("(epoch 1)"), std::string::npos) << message;
  }
  const RunState state = read_checkpoint_state(dir / "checkpoint.pt");
  EXPECT_EQ(state.epoch, 1);
  EXPECT_EQ(read_lines(dir / "metrics.jsonl").size(), 2u);
}

TEST(Trainer, TruncateMetricsDropsEpochsAfterTheCheckpoint) {
  TempDir dir("truncate");
  std::ofstream(dir / "m.jsonl") << R"({"epoch":1,"split":"train","loss":3})" "\n"
                                 << R"({"epoch":2,"split":"train","loss":2})" "\n"
                                 << R"({"epoch":3,"split":"train","loss":1})" "\n";
  truncate_metrics(dir / "m.jsonl", 2);
  const auto lines = read_lines(dir / "m.jsonl");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["epoch"], 2);
}

TEST(Runtime, KeepFreedMemoryServesLargeTensorsFromTheHeapAndKeepsThem) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  ASSERT_TRUE(keep_freed_memory(size_t(256) << 20));
  const size_t mapped = mallinfo2().hblkhd;  // bytes in mmapped blocks (fordblks: free bytes kept in the heap)
  {
    auto t = torch::empty({12 << 20});  // 48 MiB: above glibc's adaptive mmap threshold (at most 32 MiB)
    t.fill_(1);
    EXPECT_EQ(mallinfo2().hblkhd, mapped) << "a 48 MiB tensor was mmapped; it should come from the heap";
  }
  EXPECT_GE(mallinfo2().fordblks, size_t(48) << 20) << "the freed 48 MiB went back to the kernel";
#else
  GTEST_SKIP() << "needs glibc >= 2.33 (mallinfo2)";
#endif
}

// All the threads go to one pool, the other gets one: BLAS for the dense models (matrix products), ATen
// for the convolutional ones; never aten x blas > total. Where the BLAS has no threads of its own (MKL in
// PyPI's LibTorch runs on ATen's), the dense models' matrix products need ATen's threads.
TEST(Runtime, ThreadSplitGivesTheThreadsToOnePool) {
  for (int total : {1, 2, 4}) {
    const ThreadConfig dense = configure_threads(total, /*conv_heavy=*/false);
    if (blas_has_own_threads()) {
      EXPECT_EQ(dense.aten, 1);
      EXPECT_EQ(dense.blas, total);
      EXPECT_EQ(torch::get_num_threads(), 1);
    } else {
      EXPECT_EQ(dense.aten, total);
      EXPECT_EQ(dense.blas, 1);
      EXPECT_EQ(torch::get_num_threads(), total);
    }
    const ThreadConfig conv = configure_threads(total, /*conv_heavy=*/true);
    EXPECT_EQ(conv.aten, total);
    EXPECT_EQ(conv.blas, 1);
    EXPECT_EQ(torch::get_num_threads(), total);
  }
  EXPECT_EQ(configure_threads(0, true).aten, int(std::max(1u, std::thread::hardware_concurrency())));  // 0 = all cores
  EXPECT_THROW(resolve_device("tpu"), Error);
  EXPECT_EQ(resolve_device("cpu"), torch::Device(torch::kCPU));
}

// pytorch#42018: nothing in deepgen calls libtorch_cuda directly, so a linker running with --as-needed
// drops it and torch::cuda::is_available() is then false even on a GPU machine. Built against a CUDA
// LibTorch (PyPI's), its CUDA hooks must answer; without a GPU, is_available() is false and --device
// cuda is refused in one line that names the LibTorch.
TEST(Runtime, CudaLibTorchKeepsLibtorchCudaLoaded) {
#if DEEPGEN_TORCH_CUDA
  EXPECT_NE(torch_cuda_runtime(), "") << "built against a CUDA LibTorch but libtorch_cuda is not loaded";
#else
  EXPECT_EQ(torch_cuda_runtime(), "");
  EXPECT_FALSE(torch::cuda::is_available());
#endif
  if (torch::cuda::is_available()) {
    EXPECT_EQ(resolve_device("cuda"), torch::Device(torch::kCUDA));
  } else {
    try {
      resolve_device("cuda");
      ADD_FAILURE() << "--device cuda was accepted without a CUDA device";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("(" + torch_version() + ", "), std::string::npos) << e.what();
    }
  }
}
