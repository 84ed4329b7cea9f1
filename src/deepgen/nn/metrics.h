// Metrics of a training step and of a split. A step's metrics stay tensors on the model's device, so a
// step never waits for the device to finish (no pipeline stall on a GPU, no barrier per step across
// processes); the trainer sums them there and reads them back only when it logs.
#pragma once

#include <torch/torch.h>

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

// The first metric that is NaN or infinite, as "loss is nan"; empty when all are finite.
std::string non_finite(const Metrics& metrics);

}  // namespace deepgen
