#include "deepgen/nn/metrics.h"

#include <cmath>
#include <vector>

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

std::string non_finite(const Metrics& metrics) {
  for (const auto& [name, value] : metrics) {
    if (!std::isfinite(value)) return name + " is " + (std::isnan(value) ? "nan" : "inf");
  }
  return {};
}

}  // namespace deepgen
