// The pieces of data-parallel training that one process can check: the launcher's environment, the
// per-example noise of a global batch, the parts ranks take, the evaluation's batches and noise, and
// the synchronized batch norm's arithmetic. The ranks themselves (real processes over loopback and
// across two network namespaces) are tested by distributed_test.sh, distributed_shards_test.sh and
// distributed_netns_test.sh.
#include <gtest/gtest.h>

#include <cstdlib>

#include "deepgen/core/batch_shard.h"
#include "deepgen/core/error.h"
#include "deepgen/distributed/world.h"
#include "deepgen/nn/batch_norm.h"
#include "deepgen/nn/metrics.h"
#include "test_util.h"

using namespace deepgen;

namespace {

// Sets environment variables for one test and restores the launcher variables after it.
class Environment {
 public:
  Environment() {
    for (const char* name : kNames) unsetenv(name);
  }
  ~Environment() {
    for (const char* name : kNames) unsetenv(name);
  }
  void set(const char* name, const char* value) { setenv(name, value, 1); }

 private:
  static constexpr const char* kNames[] = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR",
                                           "MASTER_PORT", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID",
                                           "SLURM_NTASKS_PER_NODE", "TORCHELASTIC_RUN_ID", "DEEPGEN_LAUNCHER"};
};

}  // namespace

TEST(Launch, NoLauncherIsAWorldOfOne) {
  Environment environment;
  const LaunchInfo info = launch_from_environment();
  EXPECT_EQ(info.world_size, 1);
  EXPECT_EQ(info.rank, 0);
  EXPECT_EQ(info.launcher, "none");
}

TEST(Launch, ReadsTorchrunsVariables) {
  Environment environment;
  environment.set("RANK", "3");
  environment.set("WORLD_SIZE", "4");
  environment.set("LOCAL_RANK", "1");
  environment.set("LOCAL_WORLD_SIZE", "2");
  environment.set("MASTER_ADDR", "node0");
  environment.set("MASTER_PORT", "29511");
  environment.set("TORCHELASTIC_RUN_ID", "abc");
  const LaunchInfo info = launch_from_environment();
  EXPECT_EQ(info.rank, 3);
  EXPECT_EQ(info.world_size, 4);
  EXPECT_EQ(info.local_rank, 1);
  EXPECT_EQ(info.local_world_size, 2);
  EXPECT_EQ(info.master_addr, "node0");
  EXPECT_EQ(info.master_port, 29511);
  EXPECT_EQ(info.launcher, "torchrun");
}

TEST(Launch, ReadsSlurmsVariables) {
  Environment environment;
  environment.set("SLURM_PROCID", "5");
  environment.set("SLURM_NTASKS", "8");
  environment.set("SLURM_LOCALID", "1");
  environment.set("SLURM_NTASKS_PER_NODE", "4(x2)");
  environment.set("MASTER_ADDR", "node0");
  const LaunchInfo info = launch_from_environment();
  EXPECT_EQ(info.rank, 5);
  EXPECT_EQ(info.world_size, 8);
  EXPECT_EQ(info.local_rank, 1);
  EXPECT_EQ(info.local_world_size, 4);
  EXPECT_EQ(info.master_port, 29500);
  EXPECT_EQ(info.launcher, "slurm");
}

TEST(Launch, IncompleteOrMalformedEnvironmentsAreOneLineErrors) {
  {
    Environment environment;
    environment.set("WORLD_SIZE", "2");
    EXPECT_NE(deepgen::testing::error_of([] { launch_from_environment(); }).find("WORLD_SIZE is set but RANK is not"),
              std::string::npos);
  }
  {
    Environment environment;
    environment.set("RANK", "0");
    EXPECT_NE(deepgen::testing::error_of([] { launch_from_environment(); }).find("RANK or LOCAL_RANK is set but WORLD_SIZE"),
              std::string::npos);
  }
  {
    Environment environment;
    environment.set("RANK", "two");
    environment.set("WORLD_SIZE", "2");
    EXPECT_NE(deepgen::testing::error_of([] { launch_from_environment(); }).find("RANK=two: expected an integer in [0, 1]"),
              std::string::npos);
  }
  {
    Environment environment;
    environment.set("RANK", "1");
    environment.set("WORLD_SIZE", "2");
    EXPECT_NE(deepgen::testing::error_of([] { launch_from_environment(); }).find("MASTER_ADDR is not set"),
              std::string::npos);
  }
}

TEST(Launch, DistTimeoutParses) {
  EXPECT_EQ(parse_dist_timeout("300").count(), 300000);
  EXPECT_EQ(parse_dist_timeout("30s").count(), 30000);
  EXPECT_EQ(parse_dist_timeout("5m").count(), 300000);
  EXPECT_EQ(parse_dist_timeout("1h").count(), 3600000);
  for (const char* bad : {"", "0", "5x", "-1", "m"}) {
    EXPECT_NE(deepgen::testing::error_of([&] { parse_dist_timeout(bad); }).find("--dist-timeout"), std::string::npos)
        << bad;
  }
}

// What makes N ranks draw what one process draws: each slice's noise is those rows of the whole
// batch's, and every rank's slices together are the whole.
TEST(BatchShard, SlicesOfTheGlobalBatchDrawTheRowsOfItsNoise) {
  const int64_t total = 10;
  torch::Tensor whole;
  {
    ShardScope scope({0, total, total, 7, 42}, true);
    whole = batch_randn({total, 3}, torch::kFloat);
  }
  std::vector<torch::Tensor> parts;
  for (const auto& [offset, size] : std::vector<std::pair<int64_t, int64_t>>{{0, 4}, {4, 3}, {7, 3}}) {
    ShardScope scope({offset, size, total, 7, 42}, true);
    parts.push_back(batch_randn({size, 3}, torch::kFloat));
  }
  EXPECT_TRUE(torch::equal(torch::cat(parts), whole));
  // Another step, another seed: other numbers. Outside a scope: LibTorch's global generator.
  ShardScope other_step({0, total, total, 7, 43}, true);
  EXPECT_FALSE(torch::equal(batch_randn({total, 3}, torch::kFloat), whole));
}

TEST(BatchShard, SecondDrawOfAStepContinuesTheSameStream) {
  torch::Tensor first, second;
  {
    ShardScope scope({0, 4, 4, 1, 0}, true);
    first = batch_rand({4}, torch::kFloat);
    second = batch_rand({4}, torch::kFloat);
  }
  EXPECT_FALSE(torch::equal(first, second));
  ShardScope again({2, 2, 4, 1, 0}, true);
  EXPECT_TRUE(torch::equal(batch_rand({2}, torch::kFloat), first.narrow(0, 2, 2)));
  EXPECT_TRUE(torch::equal(batch_rand({2}, torch::kFloat), second.narrow(0, 2, 2)));
  EXPECT_EQ(current_shard()->offset, 2);
  EXPECT_DOUBLE_EQ(current_shard()->weight(), 0.5);
}

TEST(BatchShard, WithoutPerStepDrawsTheGlobalGeneratorServes) {
  torch::manual_seed(5);
  const auto expected = torch::randn({3, 2});
  torch::manual_seed(5);
  ShardScope scope({0, 3, 3, 1, 0}, /*per_step_draws=*/false);
  EXPECT_TRUE(torch::equal(batch_randn({3, 2}, torch::kFloat), expected));
}

TEST(BatchShard, EachRankHasItsOwnStream) {
  EXPECT_NE(stream_seed(1, 10, 0), stream_seed(1, 10, 1));
  EXPECT_NE(stream_seed(1, 10, 0), stream_seed(1, 11, 0));
  EXPECT_NE(stream_seed(1, 10, 0), stream_seed(2, 10, 0));
  EXPECT_EQ(stream_seed(1, 10, 1), stream_seed(1, 10, 1));
}

// The parts of the global batch, of a char-LM's streams and of a test split's batches: contiguous,
// covering every unit once, the first units % ranks one larger.
TEST(BatchShard, EvenPartsCoverTheUnitsInOrder) {
  for (const int64_t units : {0, 1, 7, 12, 13}) {
    for (const int ranks : {1, 2, 3, 5}) {
      int64_t next = 0;
      for (int rank = 0; rank < ranks; ++rank) {
        const EvenPart part = even_part(units, rank, ranks);
        EXPECT_EQ(part.offset, next) << units << " units, rank " << rank << " of " << ranks;
        EXPECT_EQ(part.count, units / ranks + (rank < units % ranks ? 1 : 0));
        next += part.count;
      }
      EXPECT_EQ(next, units);
    }
  }
}

// Evaluation in one process (a world of one, inside a ShardedEvaluation or not): every batch once,
// starting where the batch size puts it; each batch's noise depends on the seed and the batch's number
// only (so a rank that evaluates batch 2 alone draws what one process draws for it), and the global
// generator is left where it was.
TEST(ShardedEvaluation, InOneProcessCoversEveryBatchWithNoisePerBatch) {
  auto evaluate = [](int64_t examples, int64_t batch_size, std::vector<torch::Tensor>* noise) {
    return sum_over_split(examples, batch_size, [&](int64_t start, int64_t count) -> StepMetrics {
      noise->push_back(batch_randn({count, 2}, torch::kFloat));
      return {{"examples", metric(double(count), torch::kCPU)}, {"starts", metric(double(start), torch::kCPU)}};
    });
  };
  std::vector<torch::Tensor> first, second;
  torch::manual_seed(4);
  const Metrics sums = evaluate(250, 100, &first);
  EXPECT_EQ(sums.at("examples"), 250);
  EXPECT_EQ(sums.at("starts"), 0 + 100 + 200);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[2].size(0), 50);
  EXPECT_FALSE(torch::equal(first[0], first[1]));
  const auto after = torch::rand({4});
  torch::manual_seed(4);
  {
    ShardedEvaluation shared;  // a world of one: the whole split, nothing exchanged
    EXPECT_EQ(evaluation_part(12).count, 12);
    (void)torch::rand({7});  // draws from the global generator do not move the evaluation's noise
    evaluate(250, 100, &second);
  }
  for (size_t k = 0; k < first.size(); ++k) EXPECT_TRUE(torch::equal(first[k], second[k])) << "batch " << k;
  torch::manual_seed(4);
  evaluate(250, 100, &second);
  EXPECT_TRUE(torch::equal(torch::rand({4}), after));  // the global generator was not drawn from
  torch::manual_seed(5);
  std::vector<torch::Tensor> other;
  evaluate(250, 100, &other);
  EXPECT_FALSE(torch::equal(other[0], first[0]));  // another evaluation seed, other noise
}

// The synchronized computation (here in a world of one, where the all-reduce is the identity) must be
// batch norm: the same output, running statistics and gradients as LibTorch's.
TEST(SyncBatchNorm, ComputesWhatBatchNormComputes) {
  torch::manual_seed(3);
  torch::nn::BatchNorm2d reference(torch::nn::BatchNorm2dOptions(4).momentum(0.2));
  SyncBatchNorm synced(torch::nn::BatchNorm2dOptions(4).momentum(0.2));
  {
    torch::NoGradGuard no_grad;
    reference->weight.uniform_(0.5, 1.5);
    reference->bias.uniform_(-0.5, 0.5);
    synced->weight.copy_(reference->weight);
    synced->bias.copy_(reference->bias);
  }
  const auto x = (torch::randn({6, 4, 5, 5}) * 3 + 2).requires_grad_(true);
  const auto y = x.detach().clone().requires_grad_(true);
  const auto upstream = torch::randn({6, 4, 5, 5});
  auto expected = reference->forward(x);
  auto actual = synchronized_batch_norm(y, synced->options, synced->weight, synced->bias, synced->running_mean,
                                        synced->running_var, synced->num_batches_tracked);
  EXPECT_LT((expected - actual).abs().max().item<double>(), 1e-5);
  (expected * upstream).sum().backward();
  (actual * upstream).sum().backward();
  EXPECT_LT((x.grad() - y.grad()).abs().max().item<double>(), 1e-5);
  EXPECT_LT((reference->weight.grad() - synced->weight.grad()).abs().max().item<double>(), 1e-4);
  EXPECT_LT((reference->bias.grad() - synced->bias.grad()).abs().max().item<double>(), 1e-4);
  EXPECT_LT((reference->running_mean - synced->running_mean).abs().max().item<double>(), 1e-6);
  EXPECT_LT((reference->running_var - synced->running_var).abs().max().item<double>(), 1e-5);
  EXPECT_EQ(synced->num_batches_tracked.item<int64_t>(), 1);
}

TEST(SyncBatchNorm, IsLibTorchsBatchNormToCheckpointsAndCode) {
  SyncBatchNorm synced(3);
  torch::nn::BatchNorm2d reference(3);
  std::vector<std::string> names, reference_names;
  for (const auto& item : synced->named_parameters()) names.push_back(item.key());
  for (const auto& item : synced->named_buffers()) names.push_back(item.key());
  for (const auto& item : reference->named_parameters()) reference_names.push_back(item.key());
  for (const auto& item : reference->named_buffers()) reference_names.push_back(item.key());
  EXPECT_EQ(names, reference_names);
  // Off, or on in a world of one, training and evaluation are BatchNorm2d's, bit for bit.
  for (const bool on : {false, true}) {
    set_sync_batch_norm(on);
    const auto x = torch::randn({4, 3, 2, 2}) * 2 + 1;
    EXPECT_TRUE(torch::equal(synced->forward(x), reference->forward(x)));
    EXPECT_TRUE(torch::equal(synced->running_var, reference->running_var));
    synced->eval();
    reference->eval();
    EXPECT_TRUE(torch::equal(synced->forward(x), reference->forward(x)));
    synced->train();
    reference->train();
  }
  EXPECT_EQ(synced->num_batches_tracked.item<int64_t>(), 2);
  set_sync_batch_norm(false);
}
