#include "deepgen/nn/metrics.h"

#include <cmath>
#include <set>
#include <sstream>
#include <vector>

#include "deepgen/core/batch_shard.h"
#include "deepgen/core/error.h"
#include "deepgen/distributed/world.h"

namespace deepgen {

torch::Tensor metric(const torch::Tensor& value) { return value.detach().to(torch::kDouble); }

torch::Tensor metric(double value, torch::Device device) {
  return torch::full({}, value, torch::TensorOptions().dtype(torch::kDouble).device(device));
}

void MetricSums::add(const StepMetrics& step, double weight) {
  for (const auto& [name, value] : step) {
    auto weighted = metric(value) * weight;
    auto [slot, fresh] = sums_.try_emplace(name, weighted);
    if (!fresh) slot->second = slot->second + weighted;
  }
  weight_ += weight;
}

Metrics MetricSums::sum() const {
  Metrics out;
  if (sums_.empty()) return out;
  std::vector<torch::Tensor> values;
  for (const auto& [name, sum] : sums_) values.push_back(sum);
  const auto host = torch::stack(values).cpu();  // the one device-to-host read
  const auto* data = host.data_ptr<double>();
  size_t i = 0;
  for (const auto& [name, sum] : sums_) out[name] = data[i++];
  return out;
}

Metrics MetricSums::mean() const {
  Metrics out = sum();
  for (auto& [name, value] : out) value /= weight_;
  return out;
}

Metrics MetricSums::of(const StepMetrics& step) {
  MetricSums one;
  one.add(step, 1.0);
  return one.mean();
}

MetricSums MetricSums::restore(const Metrics& sums, double weight, torch::Device device) {
  MetricSums restored;
  for (const auto& [name, value] : sums) restored.sums_.emplace(name, metric(value, device));
  restored.weight_ = weight;
  return restored;
}

namespace {
thread_local bool sharded_evaluation = false;

// Inside a ShardedEvaluation with several ranks: the world to share with.
World* sharing_world() {
  World& w = world();
  return sharded_evaluation && w.distributed() ? &w : nullptr;
}
}  // namespace

ShardedEvaluation::ShardedEvaluation() : outer_(sharded_evaluation) { sharded_evaluation = true; }
ShardedEvaluation::~ShardedEvaluation() { sharded_evaluation = outer_; }

EvaluationPart evaluation_part(int64_t units) {
  const World* w = sharing_world();
  if (w == nullptr) return {0, units};
  const EvenPart part = even_part(units, w->rank(), w->size());
  return {part.offset, part.count};
}

Metrics sum_over_ranks(const MetricSums& sums) {
  Metrics local = sums.sum();
  World* w = sharing_world();
  if (w == nullptr) return local;
  // The names every rank added (a rank without examples, or an autoencoder's Jacobian sums on the first
  // 1000 examples only, adds fewer), then their values in that order: one all-reduce.
  std::string names;
  for (const auto& [name, value] : local) names += name + "\n";
  std::set<std::string> all;
  for (const std::string& text : w->all_gather_text("evaluation metric names", names)) {
    std::istringstream lines(text);
    for (std::string name; std::getline(lines, name);) all.insert(name);
  }
  if (all.empty()) return {};
  std::vector<double> values;
  for (const std::string& name : all) values.push_back(local.count(name) ? local.at(name) : 0.0);
  auto total = torch::tensor(values, torch::kDouble);
  w->all_reduce_sum({total}, "the sum of the evaluation metrics");
  Metrics out;
  const double* data = total.data_ptr<double>();
  size_t i = 0;
  for (const std::string& name : all) out[name] = data[i++];
  return out;
}

Metrics sum_over_split(int64_t examples, int64_t batch_size,
                       const std::function<StepMetrics(int64_t start, int64_t count)>& batch_sums) {
  check(batch_size >= 1, "--batch-size: the evaluation expected at least 1 example per batch, found ", batch_size);
  const int64_t batches = (examples + batch_size - 1) / batch_size;
  const EvaluationPart part = evaluation_part(batches);
  // The seed of the last manual_seed (ForkedRng), read without drawing from the global generator, and
  // set apart from the training steps' seeds (the same batch_shard.h generators, numbered by step).
  const uint64_t seed = at::detail::getDefaultCPUGenerator().current_seed() ^ 0x6576616c756174ULL;
  MetricSums sums;
  for (int64_t batch = part.offset; batch < part.offset + part.count; ++batch) {
    const int64_t start = batch * batch_size, count = std::min(batch_size, examples - start);
    ShardScope noise({0, count, count, seed, batch}, /*per_step_draws=*/true);
    sums.add(batch_sums(start, count), 1.0);
  }
  return sum_over_ranks(sums);
}

std::string non_finite(const Metrics& metrics) {
  for (const auto& [name, value] : metrics) {
    if (!std::isfinite(value)) return name + " is " + (std::isnan(value) ? "nan" : "inf");
  }
  return {};
}

}  // namespace deepgen
