// Metrics of a training step and of a split. A step's metrics stay tensors on the model's device, so a
// step never waits for the device to finish (no pipeline stall on a GPU, no barrier per step across
// processes); the trainer sums them there and reads them back only when it logs. A split is evaluated
// as sums over its examples, which data-parallel ranks can share (ShardedEvaluation below).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>

namespace deepgen {

// Named scalars for one split or one logging window, read back to the host; "loss" is always present.
using Metrics = std::map<std::string, double>;

// One step's metrics: 0-dim tensors on the model's device, each the per-example mean over the batch.
using StepMetrics = std::map<std::string, torch::Tensor>;

// A step metric from a tensor (detached, float64, so sums over an epoch round as a host double would)
// or from a host number.
torch::Tensor metric(const torch::Tensor& value);
torch::Tensor metric(double value, torch::Device device);

// Weighted sums of step metrics, kept on the device in float64 until read.
class MetricSums {
 public:
  // Adds each metric times `weight` (the batch's example count).
  void add(const StepMetrics& step, double weight);
  bool empty() const { return sums_.empty(); }
  double weight() const { return weight_; }
  // The weighted means, read back with one device-to-host copy.
  Metrics mean() const;
  // The weighted sums themselves, read back with one device-to-host copy (evaluation loops add each
  // batch's sums with weight 1 and divide by what they counted).
  Metrics sum() const;
  // One step's metrics read back as they are (weight 1).
  static Metrics of(const StepMetrics& step);
  // Sums read back with sum() and weight(), put back on `device` (a run resumed inside an epoch goes on
  // summing where it stopped; float64 host values restore the device sums exactly).
  static MetricSums restore(const Metrics& sums, double weight, torch::Device device);

 private:
  std::map<std::string, torch::Tensor> sums_;
  double weight_ = 0;
};

// Evaluation of a split shared by the ranks of a data-parallel run (distributed/world.h). While a
// ShardedEvaluation is alive on a thread (the trainer opens one around its evaluation after each epoch,
// which every rank then runs), the evaluation helpers below give this rank its share of the split and
// add up the shares of all ranks; without one (a single process, `deepgen eval`) they cover the whole
// split and exchange nothing. A family's evaluate() sums per-example quantities through them and
// divides by the split's size (the whole split's, which every rank holds), so every rank returns the
// metrics one process would, up to the order of the float64 additions.
class ShardedEvaluation {
 public:
  ShardedEvaluation();
  ~ShardedEvaluation();
  ShardedEvaluation(const ShardedEvaluation&) = delete;
  ShardedEvaluation& operator=(const ShardedEvaluation&) = delete;

 private:
  bool outer_;
};

// The part of `units` parallel rows (a char-LM's streams, read whole) this rank evaluates: all of them
// outside a ShardedEvaluation, else this rank's even contiguous part (possibly none).
struct EvaluationPart {
  int64_t offset = 0;
  int64_t count = 0;
};
EvaluationPart evaluation_part(int64_t units);

// This rank's sums, read back, added over the ranks inside a ShardedEvaluation (one all-reduce of
// float64 values; a metric that some rank never added counts 0 there). Every rank calls it alike.
Metrics sum_over_ranks(const MetricSums& sums);

// The sums over a split of `examples` in batches of `batch_size`: calls `batch_sums(start, count)` for
// the batches this rank evaluates (a contiguous run of whole batches, so each batch starts at the
// example it starts at in one process) and returns sum_over_ranks of what they returned (each a sum
// over the batch's examples, weight 1). Each batch's noise (batch_randn, core/batch_shard.h) comes from a
// generator of its own, seeded by the global generator's seed (`eval --seed`, the trainer's 0) and the
// batch's number: the same numbers whichever rank evaluates it.
Metrics sum_over_split(int64_t examples, int64_t batch_size,
                       const std::function<StepMetrics(int64_t start, int64_t count)>& batch_sums);

// The first metric that is NaN or infinite, as "loss is nan"; empty when all are finite.
std::string non_finite(const Metrics& metrics);

}  // namespace deepgen
