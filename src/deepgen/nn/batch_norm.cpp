#include "deepgen/nn/batch_norm.h"

#include <atomic>

#include "deepgen/core/batch_shard.h"
#include "deepgen/distributed/world.h"

namespace deepgen {

namespace {

std::atomic<bool> synchronize{false};

// Sums a tensor over the ranks. Backward: each rank's gradient is of its own (weighted) share of the
// global loss, and the optimizer later multiplies everything by the rank's weight w_r and sums: so the
// gradient passed back is (sum over ranks of w_r' g_r') / w_r, which after that weighting is exactly the
// chain rule of the global mean loss through the shared statistics.
class AllReduceSum : public torch::autograd::Function<AllReduceSum> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* context, const torch::Tensor& local) {
    const BatchShard* shard = current_shard();
    const double weight = shard != nullptr ? shard->weight() : 1.0 / double(world().size());
    context->saved_data["weight"] = weight;
    auto total = local.clone();
    world().all_reduce_sum({total}, "the synchronized batch-norm statistics");
    return total;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* context,
                                               torch::autograd::tensor_list gradients) {
    const double weight = context->saved_data["weight"].toDouble();
    auto total = gradients[0] * weight;
    world().all_reduce_sum({total}, "the synchronized batch-norm gradients");
    return {total / weight};
  }
};

}  // namespace

void set_sync_batch_norm(bool on) { synchronize = on; }
bool sync_batch_norm() { return synchronize; }

torch::Tensor synchronized_batch_norm(const torch::Tensor& input, const torch::nn::BatchNormOptions& options,
                                      const torch::Tensor& weight, const torch::Tensor& bias,
                                      torch::Tensor& running_mean, torch::Tensor& running_var,
                                      torch::Tensor& batches_tracked) {
  const int64_t channels = input.size(1);
  std::vector<int64_t> dims = {0};
  for (int64_t d = 2; d < input.dim(); ++d) dims.push_back(d);
  std::vector<int64_t> shape(size_t(input.dim()), 1);
  shape[1] = channels;
  // Per channel: count, sum and sum of squares, accumulated in float64 (the variance is their
  // difference), then summed over the ranks.
  const double count = double(input.numel() / channels);
  auto stats = torch::cat({input.sum(dims, false, torch::kDouble), input.square().sum(dims, false, torch::kDouble),
                           torch::full({1}, count, input.options().dtype(torch::kDouble))});
  stats = AllReduceSum::apply(stats);
  const auto n = stats[2 * channels];
  const auto mean = stats.narrow(0, 0, channels) / n;
  const auto variance = (stats.narrow(0, channels, channels) / n - mean.square()).clamp_min(0);
  auto output = (input - mean.to(input.scalar_type()).view(shape)) *
                (variance + options.eps()).rsqrt().to(input.scalar_type()).view(shape);
  if (options.affine()) output = output * weight.view(shape) + bias.view(shape);
  if (options.track_running_stats()) {
    torch::NoGradGuard no_grad;
    batches_tracked.add_(1);
    // momentum None: the cumulative average, as LibTorch's BatchNorm.
    const auto momentum = options.momentum() ? torch::full({}, *options.momentum(), torch::kDouble)
                                             : 1.0 / batches_tracked.to(torch::kDouble);
    const auto unbiased = variance * n / (n - 1).clamp_min(1);
    running_mean.copy_(running_mean * (1 - momentum) + mean * momentum);
    running_var.copy_(running_var * (1 - momentum) + unbiased * momentum);
  }
  return output;
}

SyncBatchNormImpl::SyncBatchNormImpl(const torch::nn::BatchNormOptions& options_) : options(options_) { reset(); }

// As LibTorch's BatchNormImplBase::reset: ones and zeros, no random numbers drawn.
void SyncBatchNormImpl::reset() {
  const int64_t features = options.num_features();
  if (options.affine()) {
    weight = register_parameter("weight", torch::ones({features}));
    bias = register_parameter("bias", torch::zeros({features}));
  }
  if (options.track_running_stats()) {
    running_mean = register_buffer("running_mean", torch::zeros({features}));
    running_var = register_buffer("running_var", torch::ones({features}));
    num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
  }
}

void SyncBatchNormImpl::pretty_print(std::ostream& stream) const {
  stream << "deepgen::SyncBatchNorm(" << options.num_features() << ", eps=" << options.eps() << ")";
}

torch::Tensor SyncBatchNormImpl::forward(const torch::Tensor& input) {
  TORCH_CHECK(input.dim() >= 2 && input.size(1) == options.num_features(), "batch norm of ", options.num_features(),
              " channels: expected (N, ", options.num_features(), ", ...), found ", input.sizes());
  if (synchronize && is_training() && world().distributed()) {
    return synchronized_batch_norm(input, options, weight, bias, running_mean, running_var, num_batches_tracked);
  }
  // What LibTorch's BatchNormImplBase::forward does.
  double factor = options.momentum().value_or(0.0);
  if (is_training() && options.track_running_stats()) {
    num_batches_tracked += 1;
    if (!options.momentum()) factor = 1.0 / num_batches_tracked.item<double>();
  }
  return torch::nn::functional::detail::batch_norm(input, running_mean, running_var, weight, bias,
                                                   is_training() || !options.track_running_stats(), factor,
                                                   options.eps());
}

}  // namespace deepgen
